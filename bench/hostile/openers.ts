/**
 * The clients of the hostile scenario: connections without a token that
 * start something and never finish it, each recording when it was opened,
 * when the server closed it and what the server answered first.
 *
 *   slow-bodies   POST with `Content-Length: 1 MiB` and no token, `bodyKiB`
 *                 sent, then nothing (an authenticated procedure)
 *   slow-public   the same to AuthService/Login (no token needed), the body
 *                 chunked (no length to refuse it by) and stopping just below
 *                 the limit for calls without a token
 *   idle-h2       the HTTP/2 preface and SETTINGS, then no stream
 *   watch         grpc.health.v1.Health/Watch streams without a token, 100
 *                 per HTTP/2 session
 */
import * as http2 from "node:http2";
import * as net from "node:net";

/** The scenarios, in the order they run by default. */
export const hostileScenarios = ["slow-bodies", "slow-public", "idle-h2", "watch"] as const;
export type HostileScenario = (typeof hostileScenarios)[number];

/** One held resource: when it was opened and when the server closed it. */
export interface Held {
  opened: number;
  closed?: number;
  /** The server answered something before closing (e.g. 401, 408, 429). */
  answer?: string;
}

/** What a scenario opened. */
export interface Opened {
  /** Closes everything still open on our side. */
  release(): void;
  /** Long-lived streams the server admitted (watch only). */
  admitted?: number;
}

/**
 * Opens `connections` of `scenario` against the server on `port`, one after
 * the other, each recorded in `held`.
 */
export async function openHostile(
  scenario: HostileScenario,
  port: number,
  o: { connections: number; bodyKiB: number },
  held: Held[],
): Promise<Opened> {
  switch (scenario) {
    case "slow-bodies": {
      const chunk = Buffer.alloc(o.bodyKiB * 1024, 0x0a);
      return openRaw(port, o.connections, held, (s) => {
        s.write(
          "POST /chat.v1.MessageService/SendMessage HTTP/1.1\r\nHost: x\r\n" +
            "Content-Type: application/proto\r\nContent-Length: 1048576\r\n\r\n",
        );
        s.write(chunk, () => {});
      });
    }
    case "slow-public": {
      // Just under the 4 KiB a call without a token may send (server/rpc/gate.ts).
      const part = Buffer.alloc(3.5 * 1024, 0x0a);
      return openRaw(port, o.connections, held, (s) => {
        s.write(
          "POST /chat.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\n" +
            "Content-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        s.write(`${part.length.toString(16)}\r\n`);
        s.write(part);
        s.write("\r\n", () => {});
      });
    }
    case "idle-h2": {
      const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
      const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
      const hello = Buffer.concat([preface, settings]);
      return openRaw(port, o.connections, held, (s) => s.write(hello));
    }
    case "watch":
      return openWatches(`http://127.0.0.1:${port}`, o.connections, held);
  }
}

/** `n` raw TCP connections, each sent `start` once it is connected. */
async function openRaw(
  port: number,
  n: number,
  held: Held[],
  start: (s: net.Socket) => void,
): Promise<Opened> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const h: Held = { opened: Date.now() };
    held.push(h);
    const s = await rawSocket(port, h);
    start(s);
    sockets.push(s);
  }
  return { release: () => destroyAll(sockets) };
}

function rawSocket(port: number, held: Held): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.setNoDelay(true);
    sock.on("data", (c: Buffer) => {
      if (held.answer === undefined) {
        const text = c.toString("latin1", 0, Math.min(c.length, 64));
        held.answer = text.startsWith("HTTP/") ? text : "(HTTP/2 frames)";
      }
    });
    const closed = () => {
      held.closed ??= Date.now();
    };
    sock.on("end", closed);
    sock.on("close", closed);
    sock.on("error", () => {});
    sock.once("connect", () => resolve(sock));
    sock.once("error", reject);
  });
}

async function openWatches(baseUrl: string, n: number, held: Held[]): Promise<Opened> {
  const sessions: http2.ClientHttp2Session[] = [];
  const empty = Buffer.from([0, 0, 0, 0, 0]);
  let admitted = 0;
  for (let i = 0; i < n; i += 100) {
    const session = http2.connect(baseUrl);
    session.on("error", () => {});
    sessions.push(session);
    const waits: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 100); j++) {
      const h: Held = { opened: Date.now() };
      held.push(h);
      const req = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Watch",
        "content-type": "application/grpc",
        te: "trailers",
      });
      req.on("error", () => {});
      req.end(empty);
      req.on("close", () => {
        h.closed ??= Date.now();
      });
      waits.push(
        new Promise<void>((resolve) => {
          req.once("response", (headers) => {
            const status = headers["grpc-status"];
            h.answer = status === undefined ? "streaming" : `grpc-status ${status}`;
            if (status === undefined) admitted += 1;
            resolve();
          });
          req.once("close", () => resolve());
          req.on("data", () => {});
        }),
      );
    }
    await Promise.all(waits);
  }
  return { release: () => destroyAll(sessions), admitted };
}

function destroyAll(items: { destroy(): void }[]): void {
  for (const x of items) x.destroy();
}
