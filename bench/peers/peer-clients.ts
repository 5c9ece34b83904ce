/**
 * The fan-out load generator's side of the peers (peers.ts has the
 * protocol): subscribers that check every message arrives once, in order,
 * exactly like our Subscribe streams (clients/subscriber.ts), and a
 * publisher on one connection that waits for each message's
 * acknowledgement, like SendMessage. One WebSocket connection per
 * subscriber, no compression.
 */
import { io, type Socket } from "socket.io-client";
import { WebSocket } from "ws";
import { CheckedSubscriber, type DeliverySink } from "../clients/subscriber.js";
import type { LoadgenConfig } from "../fanout/ipc.js";
import { type LoadTarget, subscribersPerRoom } from "../fanout/target.js";
import type { PeerName } from "./peers.js";

/** A broadcast message. */
interface PeerMessage {
  room: number;
  seq: number;
  text: string;
}

/** How long the Socket.IO publisher waits for an acknowledgement. */
const ackTimeoutMs = 60_000;

/** A subscriber of a peer server at `url`. */
abstract class PeerSubscriber extends CheckedSubscriber {
  constructor(
    index: number,
    roomId: bigint,
    protected readonly url: string,
    sink: DeliverySink,
  ) {
    super(index, roomId, sink);
  }

  /** A broadcast message arrived. */
  protected onMessage(m: PeerMessage): void {
    const seq = BigInt(m.seq);
    if (this.checkSequence(BigInt(m.room), seq)) this.delivered(seq, m.text);
  }
}

/** A `ws` subscriber (`url`: ws://…): `/?room=R`, then `{"ready":S}` and the room's messages. */
class WsSubscriber extends PeerSubscriber {
  override run(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const ws = new WebSocket(`${this.url}/?room=${this.roomId}`, { perMessageDeflate: false });
      const onAbort = () => ws.terminate();
      signal.addEventListener("abort", onAbort, { once: true });
      ws.on("message", (data: Buffer) => this.onFrame(data));
      ws.on("error", (err) => {
        if (!signal.aborted) this.fail(`ws: ${err.message}`);
      });
      ws.on("close", (code) => {
        signal.removeEventListener("abort", onAbort);
        if (!signal.aborted) this.fail(`ws: closed by the server (${code})`);
        this.endBeforeReady();
        resolve();
      });
    });
  }

  private onFrame(data: Buffer): void {
    const m = JSON.parse(data.toString()) as PeerMessage | { ready: number };
    if ("ready" in m) this.markReady(BigInt(m.ready));
    else this.onMessage(m);
  }
}

/** A Socket.IO subscriber: websocket transport, `join` with acknowledgement, `m` events. */
class SocketIoSubscriber extends PeerSubscriber {
  override run(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const socket = io(this.url, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
      });
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        this.endBeforeReady();
        resolve();
      };
      const onAbort = () => {
        socket.disconnect();
        done();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      socket.on("connect", () => {
        socket.emit("join", Number(this.roomId), (seq: number) => this.markReady(BigInt(seq)));
      });
      socket.on("m", (m: PeerMessage) => this.onMessage(m));
      socket.on("connect_error", (err) => {
        this.fail(`socket.io: connect error: ${err.message}`);
        socket.disconnect();
        done();
      });
      socket.on("disconnect", (reason) => {
        if (!signal.aborted) this.fail(`socket.io: disconnected (${reason})`);
        done();
      });
    });
  }
}

/** The `ws` publisher: `{"id","room","text"}` out, `{"ack","seq"}` back. */
async function wsPublisher(wsUrl: string): Promise<{
  send(roomId: bigint, text: string, i: number): Promise<void>;
  close(): void;
}> {
  const ws = new WebSocket(`${wsUrl}/?publish=1`, { perMessageDeflate: false });
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  ws.on("message", (data: Buffer) => {
    const m = JSON.parse(data.toString()) as { ack?: number; error?: string };
    const p = m.ack === undefined ? undefined : pending.get(m.ack);
    if (!p) return;
    pending.delete(m.ack as number);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve();
  });
  ws.on("close", () => {
    for (const p of pending.values()) p.reject(new Error("ws publisher: connection closed"));
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  ws.on("error", () => {});
  return {
    send(roomId, text, i) {
      if (ws.readyState !== WebSocket.OPEN) {
        return Promise.reject(new Error("ws publisher: not connected"));
      }
      return new Promise<void>((resolve, reject) => {
        pending.set(i, { resolve, reject });
        ws.send(JSON.stringify({ id: i, room: Number(roomId), text }));
      });
    },
    close: () => ws.close(),
  };
}

/** The Socket.IO publisher: `publish` events with acknowledgement. */
async function socketIoPublisher(url: string): Promise<{
  send(roomId: bigint, text: string, i: number): Promise<void>;
  close(): void;
}> {
  const socket: Socket = io(url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return {
    async send(roomId, text) {
      const r = (await socket
        .timeout(ackTimeoutMs)
        .emitWithAck("publish", { room: Number(roomId), text })) as
        | { seq: number }
        | { error: string };
      if ("error" in r) throw new Error(`socket.io publish: ${r.error}`);
    },
    close: () => socket.disconnect(),
  };
}

/** Connects the publisher to peer `name`; subscribers are made on demand. */
export async function peerTarget(name: PeerName, config: LoadgenConfig): Promise<LoadTarget> {
  const wsUrl = config.baseUrl.replace(/^http/, "ws");
  const rooms = Array.from({ length: config.rooms }, (_, r) => BigInt(r + 1));
  const roomOf = subscribersPerRoom(config.subscribers, config.rooms).flatMap((n, r) =>
    Array.from({ length: n }, () => rooms[r] ?? 0n),
  );
  const publisher =
    name === "ws" ? await wsPublisher(wsUrl) : await socketIoPublisher(config.baseUrl);
  let opened = 0;
  return {
    users: 0,
    rooms,
    roomOf,
    subscriber(i, sink) {
      opened += 1;
      const roomId = roomOf[i] ?? 0n;
      return name === "ws"
        ? new WsSubscriber(i, roomId, wsUrl, sink)
        : new SocketIoSubscriber(i, roomId, config.baseUrl, sink);
    },
    async roomBase(roomId, subscribers) {
      // Nothing was published yet: every subscriber of the room saw the same sequence.
      const bases = new Set(subscribers.filter((s) => s.roomId === roomId).map((s) => s.baseSeq));
      const [base, ...others] = bases;
      if (base === undefined || others.length > 0) {
        throw new Error(
          `room ${roomId}: subscribers are ready at sequences ${[...bases].join(", ")}`,
        );
      }
      return base;
    },
    connections: () => opened,
    send: (roomId, text, i) => publisher.send(roomId, text, i),
    close: () => publisher.close(),
  };
}
