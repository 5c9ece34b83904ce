/**
 * The bot: follows every room it belongs to through the SDK's resumable
 * feed and answers commands (commands.ts) with retried sends.
 *
 * No command is missed and none is answered twice, whatever restarts:
 * - the feed resumes from the positions saved in the state file, and a room
 *   too far behind (`reset`) is caught up through ListMessages;
 * - every answer's clientMsgId is made from the command's room and
 *   sequence, so answering a command again (after a crash between sending
 *   and saving) returns the first answer instead of posting a second;
 * - a reminder is saved before its command is acknowledged and removed only
 *   after it was posted, under an id of its own.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  type ChatClient,
  Code,
  ConnectError,
  type FeedItem,
  type Message,
  MessageKind,
  positionsToJson,
  type ResumableFeed,
  type User,
} from "@protochat/sdk";
import { formatDuration, HELP, parseCommand } from "./commands.js";
import type { BotState, Reminder } from "./state-file.js";

/** What the bot needs. */
export interface BotOptions {
  client: ChatClient;
  me: User;
  /** The state loaded at start; the bot changes it and hands it to `save`. */
  state: BotState;
  save(state: BotState): void;
  log(event: string, fields?: Record<string, unknown>): void;
  /** Ends the bot (SIGTERM). */
  signal: AbortSignal;
  now?: () => number;
}

/** setTimeout's longest delay; longer reminders wait in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Answers the server refuses for good: retrying cannot help. */
const REFUSALS = new Set([
  Code.InvalidArgument,
  Code.NotFound,
  Code.PermissionDenied,
  Code.FailedPrecondition,
]);
/** Positions moved by non-commands are saved at most this often. */
const SAVE_DELAY_MS = 1_000;

const key = (roomId: bigint | string, seq: bigint | string) => `${roomId}-${seq}`;

export class ReminderBot {
  private readonly feed: ResumableFeed;
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly usernames = new Map<bigint, string>();
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly now: () => number;

  constructor(private readonly o: BotOptions) {
    this.now = o.now ?? Date.now;
    this.feed = o.client.follow({ positions: o.state.positions, signal: o.signal });
  }

  /** Runs until the signal aborts; throws if the feed stops for good. */
  async run(): Promise<void> {
    for (const r of this.o.state.reminders) this.schedule(r);
    try {
      for await (const item of this.feed) await this.handle(item);
    } finally {
      for (const t of this.timers.values()) clearTimeout(t);
      this.timers.clear();
      this.saveNow();
    }
  }

  private saveNow(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.o.state.positions = positionsToJson(this.feed.positions());
    this.o.save(this.o.state);
  }

  private saveSoon(): void {
    this.saveTimer ??= setTimeout(() => this.saveNow(), SAVE_DELAY_MS);
  }

  private async handle(item: FeedItem): Promise<void> {
    switch (item.case) {
      case "status": {
        const s = item.value;
        if (s.state === "live") this.o.log("live");
        else if (s.state === "waiting") {
          this.o.log("disconnected", { error: s.error.message, retryInMs: s.delayMs });
        }
        return;
      }
      case "roomEvent": {
        const c = item.value.change;
        if (
          c.case === "messageCreated" &&
          c.value.message &&
          (await this.onMessage(c.value.message))
        ) {
          this.saveNow(); // a command was handled: its position is saved at once
        } else {
          this.saveSoon();
        }
        return;
      }
      case "reset": {
        // Too far behind for a replay: read the messages missed from history.
        const { roomId, lastSeq } = item.value;
        this.o.log("reset", { roomId, from: item.previousSeq, to: lastSeq });
        if (item.previousSeq !== undefined) {
          const missed = this.o.client.history(roomId, {
            afterSeq: item.previousSeq,
            throughSeq: lastSeq,
            signal: this.o.signal,
          });
          for await (const m of missed) await this.onMessage(m);
        }
        this.saveNow();
        return;
      }
      case "roomRemoved": {
        // Removed from the room: its reminders cannot be posted any more.
        const roomId = String(item.value.roomId);
        for (const r of this.o.state.reminders.filter((x) => x.roomId === roomId)) {
          this.unschedule(r);
        }
        this.o.state.reminders = this.o.state.reminders.filter((x) => x.roomId !== roomId);
        this.o.log("room removed", { roomId });
        this.saveNow();
        return;
      }
      default:
        return;
    }
  }

  /** Answers a message if it is a command; true when it was one. */
  private async onMessage(m: Message): Promise<boolean> {
    if (m.senderId === this.o.me.id || m.kind !== MessageKind.TEXT || m.deleted) return false;
    const cmd = parseCommand(m.text);
    if (!cmd) return false;
    const answer = (text: string) => this.post(m.roomId, text, `a${key(m.roomId, m.seq)}`, m.id);
    switch (cmd.kind) {
      case "ping":
        await answer(cmd.rest ? `pong ${cmd.rest}` : "pong");
        break;
      case "help":
        await answer(HELP);
        break;
      case "invalid":
        await answer(cmd.reply);
        break;
      case "reminders": {
        const name = await this.usernameOf(m.senderId);
        const list = this.o.state.reminders.filter(
          (r) => r.roomId === String(m.roomId) && r.username === name,
        );
        await answer(
          list.length === 0
            ? "You have no reminders here."
            : list
                .map((r) => `⏰ in ${formatDuration(r.dueAt - this.now())}: ${r.text}`)
                .join("\n"),
        );
        break;
      }
      case "remind": {
        // Due relative to when it was said, not when we got to it.
        const saidAt = m.createTime ? timestampMs(m.createTime) : this.now();
        const reminder: Reminder = {
          roomId: String(m.roomId),
          seq: String(m.seq),
          messageId: String(m.id),
          username: await this.usernameOf(m.senderId),
          dueAt: saidAt + cmd.delayMs,
          text: cmd.text,
        };
        const k = key(reminder.roomId, reminder.seq);
        if (!this.o.state.reminders.some((r) => key(r.roomId, r.seq) === k)) {
          this.o.state.reminders.push(reminder);
          this.o.save(this.o.state); // kept before it is acknowledged
          this.schedule(reminder);
        }
        await answer(
          `⏰ OK, I'll remind you in ${formatDuration(Math.max(0, reminder.dueAt - this.now()))}: ${cmd.text}`,
        );
        break;
      }
    }
    return true;
  }

  private async usernameOf(id: bigint): Promise<string> {
    const known = this.usernames.get(id);
    if (known) return known;
    const res = await this.o.client.users.getUser({ lookup: { case: "id", value: id } });
    const name = res.user?.username ?? String(id);
    this.usernames.set(id, name);
    return name;
  }

  /**
   * Posts a message under a fixed clientMsgId, retrying (with backoff) every
   * failure but a refusal until it is stored or the bot stops: the id makes
   * repeating safe, and giving up would miss the command. Refusals (the bot
   * was removed, the room archived, the text rejected) are logged and
   * skipped.
   */
  private async post(roomId: bigint, text: string, clientMsgId: string, replyToId: bigint) {
    try {
      const res = await this.o.client.send(roomId, text, {
        clientMsgId,
        replyToId,
        signal: this.o.signal,
        retry: {
          maxAttempts: Number.POSITIVE_INFINITY,
          retryable: (err) => !REFUSALS.has(err.code),
          onRetry: ({ error, delayMs }) =>
            this.o.log("retrying", { clientMsgId, error: error.message, delayMs }),
        },
      });
      this.o.log("posted", {
        roomId,
        clientMsgId,
        seq: res.message?.seq,
        duplicate: res.duplicate,
      });
    } catch (err) {
      const ce = ConnectError.from(err);
      if (this.o.signal.aborted || !REFUSALS.has(ce.code)) throw ce;
      this.o.log("not posted", { roomId, clientMsgId, code: Code[ce.code], error: ce.rawMessage });
    }
  }

  private schedule(r: Reminder): void {
    const k = key(r.roomId, r.seq);
    clearTimeout(this.timers.get(k));
    const wait = Math.min(Math.max(0, r.dueAt - this.now()), MAX_TIMER_MS);
    this.timers.set(
      k,
      setTimeout(() => {
        this.timers.delete(k);
        if (r.dueAt > this.now()) this.schedule(r);
        else void this.fire(r);
      }, wait),
    );
  }

  private unschedule(r: Reminder): void {
    const k = key(r.roomId, r.seq);
    clearTimeout(this.timers.get(k));
    this.timers.delete(k);
  }

  private async fire(r: Reminder): Promise<void> {
    try {
      await this.post(
        BigInt(r.roomId),
        `⏰ @${r.username} reminder: ${r.text}`,
        `r${key(r.roomId, r.seq)}`,
        BigInt(r.messageId),
      );
    } catch {
      return; // stopping: it stays saved and fires after the restart
    }
    const k = key(r.roomId, r.seq);
    this.o.state.reminders = this.o.state.reminders.filter((x) => key(x.roomId, x.seq) !== k);
    this.o.save(this.o.state);
  }
}
