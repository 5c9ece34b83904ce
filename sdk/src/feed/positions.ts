/**
 * Where a feed stands: per room, the last sequence it handed to the
 * caller. Resuming sends these positions, and the server replays exactly
 * what follows (or a `reset`). The JSON form maps room ids to sequences as
 * decimal strings (ids are 64-bit), so a service can keep it in a file or a
 * database row and resume after its own restart.
 */

/** How far a feed has delivered one room. */
export interface Position {
  roomId: bigint;
  lastSeq: bigint;
}

/** The serialized form: `{ "<roomId>": "<lastSeq>" }`. */
export type PositionsJson = Record<string, string>;

/** Anything positions can be restored from. */
export type PositionsInit = Iterable<Position> | PositionsJson;

function isIterable(x: unknown): x is Iterable<Position> {
  return typeof (x as Iterable<Position>)[Symbol.iterator] === "function";
}

/** Parses a decimal uint64; throws on anything else. */
function parseUint64(s: string, what: string): bigint {
  if (!/^\d{1,20}$/.test(s)) throw new Error(`invalid ${what}: ${JSON.stringify(s)}`);
  const n = BigInt(s);
  if (n > 0xffff_ffff_ffff_ffffn) throw new Error(`invalid ${what}: ${s} is out of range`);
  return n;
}

/** Reads positions from a list or from their JSON form; throws on malformed input. */
export function positionsFrom(init: PositionsInit | undefined): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  if (!init) return out;
  if (isIterable(init)) {
    for (const p of init) out.set(p.roomId, p.lastSeq);
    return out;
  }
  for (const [room, seq] of Object.entries(init)) {
    out.set(parseUint64(room, "room id"), parseUint64(String(seq), "sequence"));
  }
  return out;
}

/** The JSON form of positions (stable order: by room id). */
export function positionsToJson(positions: Iterable<Position>): PositionsJson {
  const list = [...positions].sort((a, b) =>
    a.roomId < b.roomId ? -1 : a.roomId > b.roomId ? 1 : 0,
  );
  const out: PositionsJson = {};
  for (const p of list) out[p.roomId.toString()] = p.lastSeq.toString();
  return out;
}
