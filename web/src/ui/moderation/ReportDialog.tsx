/** Reporting a message to the room's owners and admins: a category and a few words. */
import type { Message } from "@protochat/sdk";
import { type FormEvent, useId, useState } from "react";
import { ReportReason } from "../../../../gen/chat/v1/moderation_pb.js";
import { errorText } from "../../state/controller.js";
import { Dialog } from "../Dialog.js";
import { useModeration } from "./services.js";

/** The categories offered, in the order shown. */
export const REASONS: { value: ReportReason; label: string }[] = [
  { value: ReportReason.SPAM, label: "Spam" },
  { value: ReportReason.HARASSMENT, label: "Harassment" },
  { value: ReportReason.HATE, label: "Hate" },
  { value: ReportReason.SEXUAL, label: "Sexual content" },
  { value: ReportReason.VIOLENCE, label: "Violence or threats" },
  { value: ReportReason.OTHER, label: "Something else" },
];

/** Longest text, as the contract bounds it. */
const maxText = 1000;

export function ReportDialog({
  roomId,
  message,
  senderName,
  onClose,
}: {
  roomId: string;
  message: Message;
  senderName: string;
  onClose: () => void;
}) {
  const moderation = useModeration();
  const [reason, setReason] = useState(ReportReason.SPAM);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string>();
  const ids = { reason: useId(), text: useId() };
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      await moderation.reportMessage({
        roomId: BigInt(roomId),
        messageId: message.id,
        reason,
        text: text.trim(),
      });
      setDone(true);
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog title={`Report a message from ${senderName}`} onClose={onClose}>
      {done ? (
        <>
          <p role="status">Reported. The room's moderators will look at it.</p>
          <div className="form-actions">
            <button type="button" className="primary" onClick={onClose}>
              Close
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={(e) => void submit(e)} className="form">
          <label htmlFor={ids.reason}>Category</label>
          <select
            id={ids.reason}
            value={reason}
            onChange={(e) => setReason(Number(e.target.value) as ReportReason)}
          >
            {REASONS.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
          <label htmlFor={ids.text}>What happened (optional)</label>
          <textarea
            id={ids.text}
            value={text}
            maxLength={maxText}
            onChange={(e) => setText(e.target.value)}
          />
          {error && (
            <p className="error small" role="alert">
              {error}
            </p>
          )}
          <div className="form-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy}>
              Send report
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
