/**
 * What one subscriber has seen of one room, from the position it started
 * at: per sequence number, how often it arrived, from where (the stream,
 * or a reload through ListMessages after a `reset`) and a fingerprint to
 * compare with the database at the end. Compact (typed arrays): a long run
 * gives every subscriber tens of thousands of events.
 */
import { toBinary } from "@bufbuild/protobuf";
import { type RoomEvent, RoomEventSchema } from "../../gen/chat/v1/event_pb.js";

/** Where an entry came from. */
export const Source = { none: 0, stream: 1, reload: 2 } as const;

/** 32-bit FNV-1a of bytes: the fingerprint of a stored or delivered event. */
export function fingerprint(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i] as number;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The fingerprint of a message id (what a reload compares with messages.id). */
export function idFingerprint(id: bigint): number {
  return Number(id & 0xffffffffn);
}

/** How an arriving stream event relates to what was expected. */
export type Arrival = "next" | "duplicate" | "ahead" | "late" | "before-start";

/** One room of one subscriber. */
export class RoomView {
  /** Next sequence the stream owes (the resume position is next - 1). */
  next: bigint;
  private hits = new Uint8Array(64);
  private sources = new Uint8Array(64);
  private prints = new Uint32Array(64);
  /** Highest index written + 1. */
  private length = 0;

  /** The view covers sequences after `start`. */
  constructor(
    readonly roomId: bigint,
    readonly start: bigint,
  ) {
    this.next = start + 1n;
  }

  /** Sequences covered so far (start+1 .. start+length). */
  get size(): number {
    return this.length;
  }

  /**
   * A room event from the stream. Returns how it relates to `next`; the
   * stream position moves past it unless it was behind.
   */
  onStream(ev: RoomEvent): Arrival {
    const seq = ev.seq;
    if (seq <= this.start) return "before-start";
    const print = fingerprint(toBinary(RoomEventSchema, ev));
    const firstTime = this.record(seq, Source.stream, print);
    if (seq === this.next) {
      this.next = seq + 1n;
      return firstTime ? "next" : "duplicate";
    }
    if (seq > this.next) {
      this.next = seq + 1n;
      return firstTime ? "ahead" : "duplicate";
    }
    return firstTime ? "late" : "duplicate";
  }

  /** A message loaded by ListMessages; returns false if it was there already. */
  onReload(seq: bigint, messageId: bigint): boolean {
    if (seq <= this.start) return true;
    return this.record(seq, Source.reload, idFingerprint(messageId));
  }

  /** Times `seq` arrived (0: missing), its source and fingerprint. */
  entry(seq: bigint): { hits: number; source: number; print: number } {
    const i = Number(seq - this.start - 1n);
    if (i < 0 || i >= this.length) return { hits: 0, source: Source.none, print: 0 };
    return {
      hits: this.hits[i] as number,
      source: this.sources[i] as number,
      print: this.prints[i] as number,
    };
  }

  /** Records an arrival; true when it is the first of this sequence. */
  private record(seq: bigint, source: number, print: number): boolean {
    const i = Number(seq - this.start - 1n);
    this.ensure(i + 1);
    const before = this.hits[i] as number;
    if (before < 255) this.hits[i] = before + 1;
    if (before === 0) {
      this.sources[i] = source;
      this.prints[i] = print;
    }
    if (i + 1 > this.length) this.length = i + 1;
    return before === 0;
  }

  private ensure(n: number): void {
    if (n <= this.hits.length) return;
    let cap = this.hits.length;
    while (cap < n) cap *= 2;
    const grow = <T extends Uint8Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.hits = grow(this.hits, (c) => new Uint8Array(c));
    this.sources = grow(this.sources, (c) => new Uint8Array(c));
    this.prints = grow(this.prints, (c) => new Uint32Array(c));
  }
}
