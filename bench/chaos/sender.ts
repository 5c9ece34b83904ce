/**
 * A chat client that sends messages at a steady rate and never gives up on
 * one: a failed SendMessage is retried with the same `clientMsgId` (so the
 * server stores it once however often it arrives), on the other instance,
 * after exponential backoff with full jitter, or after the server's
 * RetryInfo delay when it sends one, as a chat app's outbox would. A few
 * messages may be in flight at once (`maxInFlight`), so one slow
 * acknowledgement does not hold the rate down; each is retried on its own.
 */
import { Code } from "@connectrpc/connect";
import type { Ack } from "../lib/db-checks.js";
import { type CallFailure, classifyFailure, retryDelayMs } from "./call-errors.js";
import { authOptions, type ClientSpec, nowMs, sleep } from "./clients.js";

/** One acknowledged message. */
export interface SentAck extends Ack {
  attempts: number;
  /** When the ack arrived (ms, wall clock). */
  ackedAt: number;
}

/** What a sender needs. */
export interface SenderSpec extends ClientSpec {
  rooms: readonly bigint[];
  /** Messages per second of this sender. */
  rate: number;
  /** Bound on one attempt. */
  attemptTimeoutMs: number;
  /** Messages in flight at most; the schedule waits when they are. */
  maxInFlight: number;
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
  /** Messages being sent (not yet acknowledged), by client_msg_id. */
  readonly inFlight = new Map<string, { roomId: bigint; since: number }>();
  /** Resolves when a message in flight settles (the schedule waits on it when full). */
  private settled: () => void = () => {};
  private readonly sending = new Set<Promise<void>>();
  /** Duplicate acks on a first attempt (the id was new: must not happen). */
  falseDuplicates = 0;
  private stopping = false;
  private readonly hardStop = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly spec: SenderSpec) {}

  get index(): number {
    return this.spec.index;
  }

  /** Starts sending. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Starts no new message; resolves when those in flight are acknowledged (or `abort`). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.settled();
    await this.running;
    await Promise.all([...this.sending]);
  }

  /** Gives up on the messages in flight (they then count as not acknowledged). */
  abort(): void {
    this.stopping = true;
    this.hardStop.abort();
    this.settled();
  }

  /** True when every message started was acknowledged (or refused). */
  get lastAcked(): boolean {
    return this.inFlight.size === 0;
  }

  private async loop(): Promise<void> {
    const { spec } = this;
    const interval = 1000 / spec.rate;
    // Senders start spread over one interval, not all at once.
    let nextAt = nowMs() + spec.random.next() * interval;
    for (let n = 0; !this.stopping; n++) {
      await sleep(nextAt - nowMs(), this.hardStop.signal);
      while (this.inFlight.size >= spec.maxInFlight && !this.stopping) {
        await new Promise<void>((resolve) => {
          this.settled = resolve;
        });
      }
      if (this.stopping) break;
      const roomId = spec.rooms[spec.random.int(spec.rooms.length)] as bigint;
      const clientMsgId = `s${spec.index}-${n}`;
      // The text carries the first attempt's time: a message whose text
      // time is after a moment was committed after that moment.
      const text = `t=${Math.round(nowMs())} ${clientMsgId}`;
      this.started += 1;
      this.inFlight.set(clientMsgId, { roomId, since: nowMs() });
      const sending = this.sendUntilAcked(roomId, text, clientMsgId).finally(() => {
        this.sending.delete(sending);
        this.settled();
      });
      this.sending.add(sending);
      // Behind schedule (an outage with every slot in flight): carry on
      // from now, no burst.
      nextAt = Math.max(nextAt + interval, nowMs());
    }
  }

  private async sendUntilAcked(roomId: bigint, text: string, clientMsgId: string): Promise<void> {
    const { spec } = this;
    let last: CallFailure | undefined;
    // Each message starts on a random instance, as a load balancer spreads
    // requests; a retry goes to the other one.
    let target = spec.random.int(spec.instances);
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
        this.inFlight.delete(clientMsgId);
        this.acks.push({
          roomId: m.roomId,
          seq: m.seq,
          messageId: m.id,
          senderId: m.senderId,
          clientMsgId,
          duplicate: res.duplicate,
          attempts: attempt + 1,
          ackedAt: nowMs(),
        });
        return;
      } catch (err) {
        if (this.hardStop.signal.aborted) return;
        last = classifyFailure(err);
        spec.failures.add(last, `sender ${spec.index} @${target}`, "SendMessage");
        if (last.code === Code[Code.InvalidArgument]) {
          // Retrying a refused message changes nothing.
          this.refused += 1;
          this.inFlight.delete(clientMsgId);
          return;
        }
        target = (target + 1) % spec.instances;
      }
    }
  }
}
