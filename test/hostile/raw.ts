/**
 * Raw clients for the hostile-client tests: a TCP socket that records what
 * the server sends and when it closes (a client that never reads would
 * never see the close), and hand-made HTTP/2 frames for what real clients
 * refuse to do (open more streams than the server allows).
 */
import { once } from "node:events";
import * as net from "node:net";

/** A raw TCP connection that keeps everything the server sends. */
export class RawConnection {
  readonly socket: net.Socket;
  private chunks: Buffer[] = [];
  /** Set when the server closed (FIN or reset), with the time since connect. */
  closedAfterMs: number | undefined;
  /** The socket's error, if any (e.g. ECONNRESET). */
  error: Error | undefined;
  private readonly started = Date.now();
  private readonly waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (c: Buffer) => {
      this.chunks.push(c);
      this.wake();
    });
    socket.on("error", (err) => {
      this.error = err;
    });
    const closed = () => {
      this.closedAfterMs ??= Date.now() - this.started;
      this.wake();
    };
    socket.on("end", closed);
    socket.on("close", closed);
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    return new RawConnection(socket);
  }

  /** Everything received so far. */
  get received(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  get text(): string {
    return this.received.toString("latin1");
  }

  get closed(): boolean {
    return this.closedAfterMs !== undefined;
  }

  /** Writes, ignoring errors of a socket the server already closed. */
  write(data: string | Uint8Array): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(data, () => {});
  }

  /** Waits until `pred` holds (checked on every arrival and close), or fails after `ms`. */
  async until(pred: (c: RawConnection) => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, left);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The HTTP/2 client connection preface. */
export const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** HTTP/2 frame types used here. */
export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  GOAWAY: 7,
} as const;

/** One HTTP/2 frame. */
export function frame(type: number, flags: number, streamId: number, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

function hpackString(s: string): Buffer {
  const b = Buffer.from(s, "latin1");
  if (b.length >= 127) throw new Error("header too long for this encoder");
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/**
 * The HEADERS frame of a POST to `path` (HPACK without Huffman or dynamic
 * table: indexed :method/:scheme, literals for the rest).
 */
export function postHeaders(
  streamId: number,
  path: string,
  headers: Record<string, string>,
  endStream = false,
): Buffer {
  const parts: Buffer[] = [
    Buffer.from([0x83]), // :method POST
    Buffer.from([0x86]), // :scheme http
    Buffer.from([0x04]), // :path, literal value
    hpackString(path),
    Buffer.from([0x01]), // :authority, literal value
    hpackString("localhost"),
  ];
  for (const [name, value] of Object.entries(headers)) {
    parts.push(Buffer.from([0x00]), hpackString(name), hpackString(value));
  }
  return frame(FrameType.HEADERS, 0x4 | (endStream ? 0x1 : 0), streamId, Buffer.concat(parts));
}

/** Parsed frames of a byte stream (what a raw HTTP/2 client received). */
export function parseFrames(
  data: Buffer,
): { type: number; flags: number; stream: number; payload: Buffer }[] {
  const out: { type: number; flags: number; stream: number; payload: Buffer }[] = [];
  for (let at = 0; at + 9 <= data.length; ) {
    const length = data.readUIntBE(at, 3);
    if (at + 9 + length > data.length) break;
    out.push({
      type: data[at + 3] ?? 0,
      flags: data[at + 4] ?? 0,
      stream: data.readUInt32BE(at + 5) & 0x7fffffff,
      payload: data.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return out;
}

/** SETTINGS parameters of a SETTINGS frame payload. */
export function settingsOf(payload: Buffer): Map<number, number> {
  const m = new Map<number, number>();
  for (let at = 0; at + 6 <= payload.length; at += 6) {
    m.set(payload.readUInt16BE(at), payload.readUInt32BE(at + 2));
  }
  return m;
}
