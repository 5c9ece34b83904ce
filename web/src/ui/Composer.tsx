import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Message } from "@protochat/sdk";
import { type KeyboardEvent, useEffect, useId, useRef, useState } from "react";
import { idOf } from "../state/chat-state.js";
import { errorText } from "../state/controller.js";
import { blockOf } from "../state/send-blocks.js";
import { loadDraft, saveDraft } from "../util/drafts.js";
import { displayName } from "../util/format.js";
import { useClients } from "./files/context.js";
import { sendMessageWith } from "./files/send.js";
import { AttachButton, fileHandlers, UploadTray, useUploads } from "./files/Uploads.js";
import { useChat, useController } from "./hooks.js";
import { SendLimitNotice, useSecondsLeft, useSendBlock } from "./limits/SendLimit.js";

/** The message box: Enter sends, Shift+Enter makes a new line. */
export function Composer({
  roomId,
  label,
  disabled,
  replyTo,
  onCancelReply,
}: {
  roomId: string;
  label: string;
  disabled?: boolean;
  replyTo: Message | undefined;
  onCancelReply: () => void;
}) {
  const c = useController();
  const users = useChat((s) => s.users);
  const me = useChat((s) => s.me?.id.toString() ?? "");
  const [text, setText] = useState(() => loadDraft(me, roomId));
  const clients = useClients();
  const uploads = useUploads();
  const [sendError, setSendError] = useState<string>();
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  // Rate limit, slow mode or mute: sending waits, typing does not.
  const block = useSendBlock(roomId);
  const left = useSecondsLeft(block);
  const held = left > 0;

  // Refused sends come back into the box, before what was typed since.
  useEffect(() => {
    if (!block || block.returned.length === 0) return;
    const back = c.takeReturned(roomId);
    if (back.length > 0) setText((t) => [...back, t].filter((x) => x !== "").join("\n"));
  }, [block, c, roomId]);

  useEffect(() => {
    if (block && !held) c.blockEnded(roomId);
  }, [block, held, c, roomId]);

  // A mute that began before this page was opened: the room says until when.
  useEffect(() => {
    let live = true;
    clients.rooms
      .getRoom({ roomId: BigInt(roomId) })
      .then((res) => {
        if (live) c.mutedUntil(roomId, res.mutedUntil && timestampDate(res.mutedUntil));
      })
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [c, clients, roomId]);

  useEffect(() => {
    if (replyTo) ref.current?.focus();
  }, [replyTo]);

  useEffect(() => saveDraft(me, roomId, text), [me, roomId, text]);

  // Grow with the text, up to the CSS max-height.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs whenever the text changes
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  function send() {
    const value = text.trim();
    if ((!value && uploads.ids.length === 0) || disabled || uploads.busy || held) return;
    if (uploads.items.length > 0) {
      sendMessageWith(clients, c, roomId, {
        text: value,
        attachmentIds: uploads.ids,
        replyToId: replyTo?.id,
      }).then(
        () => setSendError(undefined),
        (err: unknown) => {
          const limit = blockOf(err, Date.now());
          if (limit) c.holdSends(roomId, limit, value);
          else setSendError(errorText(err));
        },
      );
      uploads.clear();
    } else {
      c.send(roomId, value, replyTo);
    }
    setText("");
    onCancelReply();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === "Escape" && replyTo) {
      onCancelReply();
    }
  }

  return (
    <form
      className="composer"
      {...fileHandlers(uploads, disabled)}
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      {replyTo && (
        <div className="replying">
          <span>
            Replying to <strong>{displayName(users[idOf(replyTo.senderId)], "someone")}</strong>:{" "}
            <span className="muted">{replyTo.text.slice(0, 80)}</span>
          </span>
          <button
            type="button"
            className="icon-button"
            aria-label="Cancel reply"
            onClick={onCancelReply}
          >
            ×
          </button>
        </div>
      )}
      <UploadTray uploads={uploads} />
      <SendLimitNotice block={block} left={left} />
      {sendError && (
        <p className="error small" role="alert">
          {sendError}
        </p>
      )}
      <div className="composer-row">
        <AttachButton uploads={uploads} disabled={disabled} />
        <label htmlFor={id} className="visually-hidden">
          {label}
        </label>
        <textarea
          id={id}
          ref={ref}
          rows={1}
          maxLength={4000}
          placeholder={disabled ? "This room is read-only" : label}
          aria-describedby={`${id}-hint`}
          disabled={disabled}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            c.setTyping(roomId, e.target.value.trim() !== "");
          }}
          onBlur={() => c.setTyping(roomId, false)}
          onKeyDown={onKeyDown}
        />
        <span id={`${id}-hint`} className="visually-hidden">
          Enter sends, Shift+Enter adds a new line.
        </span>
        <button
          type="submit"
          className="primary"
          disabled={disabled || held || uploads.busy || (!text.trim() && uploads.ids.length === 0)}
        >
          Send
        </button>
      </div>
    </form>
  );
}
