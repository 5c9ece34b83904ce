/**
 * When the server says "not now" to a send: a rate limit or slow mode
 * (RESOURCE_EXHAUSTED, RATE_LIMITED, RetryInfo) or a mute (PERMISSION_DENIED,
 * MUTED, RetryInfo). The composer counts down to the end and keeps the text
 * of the refused sends, so nothing typed is lost. Pure functions over one
 * record per room, kept apart from chat-state.ts so they can be tested alone.
 */
import { Code } from "@connectrpc/connect";
import { decodeError, ErrorReason } from "@protochat/sdk";
import type { Id } from "./chat-state.js";

/** Why sends are held back. */
export type SendBlockKind = "rate" | "muted";

/** Sends to one room are held back until `until` (ms since the epoch). */
export interface SendBlock {
  kind: SendBlockKind;
  until: number;
  /** Texts of refused sends, oldest first, for the composer to put back. */
  returned: string[];
}

/** Per room. */
export type SendBlocks = Record<Id, SendBlock>;

/**
 * The block an error asks for, or undefined for any other error. The end is
 * `now` plus RetryInfo's delay: the server's clock never enters into it.
 */
export function blockOf(err: unknown, now: number): Omit<SendBlock, "returned"> | undefined {
  const d = decodeError(err);
  if (d.retryDelayMs === undefined) return undefined;
  if (d.code === Code.ResourceExhausted) return { kind: "rate", until: now + d.retryDelayMs };
  if (d.code === Code.PermissionDenied && d.reason === ErrorReason.MUTED) {
    return { kind: "muted", until: now + d.retryDelayMs };
  }
  return undefined;
}

/**
 * Holds back sends to a room; a later end wins, and the texts of refused
 * sends accumulate until the composer takes them.
 */
export function blocked(
  blocks: SendBlocks,
  roomId: Id,
  block: Omit<SendBlock, "returned">,
  returnedText?: string,
): SendBlocks {
  const old = blocks[roomId];
  const returned = [...(old?.returned ?? [])];
  if (returnedText) returned.push(returnedText);
  const next =
    old && old.until > block.until ? { ...old, returned } : { ...block, returned: returned };
  return { ...blocks, [roomId]: next };
}

/** The mute of a room ended or was lifted; rate blocks run their course. */
export function unmuted(blocks: SendBlocks, roomId: Id): SendBlocks {
  const old = blocks[roomId];
  if (old?.kind !== "muted") return blocks;
  if (old.returned.length > 0) return { ...blocks, [roomId]: { ...old, until: 0 } };
  const next = { ...blocks };
  delete next[roomId];
  return next;
}

/** Drops a room's block once it has run out and its texts were taken. */
export function expired(blocks: SendBlocks, roomId: Id, now: number): SendBlocks {
  const old = blocks[roomId];
  if (!old || old.until > now || old.returned.length > 0) return blocks;
  const next = { ...blocks };
  delete next[roomId];
  return next;
}

/** Whole seconds left, rounded up (0: sends may go). */
export function secondsLeft(block: SendBlock | undefined, now: number): number {
  if (!block) return 0;
  return Math.max(0, Math.ceil((block.until - now) / 1000));
}
