/**
 * A chat client that sends messages at a steady rate and never gives up on
 * one: a failed SendMessage is retried with the same `clientMsgId` (so the
 * server stores it once however often it arrives), on the other instance,
 * after exponential backoff with full jitter, or after the server's
 * RetryInfo delay when it sends one. Only when a message is acknowledged
 * does the next one start, as a chat app's outbox would.
 */
import { Code } from "@connectrpc/connect";
import { type CallFailure, classifyFailure, type FailureLog, retryDelayMs } from "./call-errors.js";
import { authOptions, type ClientConnections, nowMs, sleep } from "./clients.js";
import type { Random } from "./random.js";

/** One acknowledged message. */
export interface SentAck {
  roomId: bigint;
  seq: bigint;
  messageId: bigint;
  senderId: bigint;
  clientMsgId: string;
  /** The server said it had it already (an earlier attempt committed). */
  duplicate: boolean;
  attempts: number;
}

/** What a sender needs. */
export interface SenderSpec {
  index: number;
  userId: bigint;
  token: string;
  rooms: readonly bigint[];
  connections: ClientConnections;
  instances: number;
  /** Messages per second of this sender. */
  rate: number;
  /** Bound on one attempt. */
  attemptTimeoutMs: number;
  random: Random;
  failures: FailureLog;
}

/** A sending client. */
export class ChaosSender {
  readonly acks: SentAck[] = [];
  /** Messages started (each acknowledged, or the last one still trying). */
  started = 0;
  attempts = 0;
  retries = 0;
  /** Messages given up because the server refused them as invalid. */
  refused = 0;
  /** The message being sent, if any. */
  inFlight: { clientMsgId: string; roomId: bigint; since: number } | undefined;
  /** Duplicate acks on a first attempt (the id was new: must not happen). */
  falseDuplicates = 0;
  private stopping = false;
  private readonly hardStop = new AbortController();
  private running: Promise<void> | undefined;
  private preferred: number;

  constructor(private readonly spec: SenderSpec) {
    this.preferred = spec.index % spec.instances;
  }

  /** Starts sending. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Starts no new message; resolves when the current one is acknowledged (or `abort`). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** Gives up on the current message (it then counts as not acknowledged). */
  abort(): void {
    this.stopping = true;
    this.hardStop.abort();
  }

  /** True when the last message started was acknowledged (or none was started). */
  get lastAcked(): boolean {
    return this.inFlight === undefined;
  }

  private async loop(): Promise<void> {
    const { spec } = this;
    const interval = 1000 / spec.rate;
    // Senders start spread over one interval, not all at once.
    let nextAt = nowMs() + spec.random.next() * interval;
    for (let n = 0; !this.stopping; n++) {
      await sleep(nextAt - nowMs(), this.hardStop.signal);
      if (this.stopping) break;
      const roomId = spec.rooms[spec.random.int(spec.rooms.length)] as bigint;
      const clientMsgId = `s${spec.index}-${n}`;
      // The text carries the first attempt's time: a message whose text
      // time is after a moment was committed after that moment.
      const text = `t=${Math.round(nowMs())} ${clientMsgId}`;
      this.started += 1;
      this.inFlight = { clientMsgId, roomId, since: nowMs() };
      await this.sendUntilAcked(roomId, text, clientMsgId);
      // Behind schedule (a long outage): carry on from now, no burst.
      nextAt = Math.max(nextAt + interval, nowMs());
    }
  }

  private async sendUntilAcked(roomId: bigint, text: string, clientMsgId: string): Promise<void> {
    const { spec } = this;
    let last: CallFailure | undefined;
    for (let attempt = 0; !this.hardStop.signal.aborted; attempt++) {
      if (attempt > 0) {
        this.retries += 1;
        await sleep(
          retryDelayMs(attempt - 1, last, () => spec.random.next()),
          this.hardStop.signal,
        );
        if (this.hardStop.signal.aborted) return;
      }
      this.attempts += 1;
      const target = this.preferred;
      try {
        const res = await spec.connections
          .to(target)
          .messages.sendMessage(
            { roomId, text, clientMsgId },
            authOptions(spec.token, this.hardStop.signal, spec.attemptTimeoutMs),
          );
        const m = res.message;
        if (!m) throw new Error("SendMessage answered without a message");
        if (res.duplicate && attempt === 0) this.falseDuplicates += 1;
        this.acks.push({
          roomId: m.roomId,
          seq: m.seq,
          messageId: m.id,
          senderId: m.senderId,
          clientMsgId,
          duplicate: res.duplicate,
          attempts: attempt + 1,
        });
        this.inFlight = undefined;
        return;
      } catch (err) {
        if (this.hardStop.signal.aborted) return;
        last = classifyFailure(err);
        spec.failures.add(last, `sender ${spec.index} @${target}`, "SendMessage");
        if (last.code === Code[Code.InvalidArgument]) {
          // Retrying a refused message changes nothing.
          this.refused += 1;
          this.inFlight = undefined;
          return;
        }
        // A load balancer would route the retry elsewhere: so do we.
        this.preferred = (target + 1) % spec.instances;
      }
    }
  }
}
