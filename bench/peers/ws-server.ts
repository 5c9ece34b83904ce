/**
 * Peer server: room broadcast with the `ws` package, the way its README
 * broadcasts (one `send` per client of an already encoded message), with
 * rooms and a per-room sequence (protocol in ./peers.ts). Run as its own
 * process by bench/peers/peer-process.ts on 127.0.0.1:$PORT; `/healthz`
 * answers 200 once listening. No compression (ws's default), no
 * persistence: the floor of what a broadcast costs in Node.js.
 */
import http from "node:http";
import { WebSocket, WebSocketServer } from "ws";

interface Room {
  seq: number;
  members: Set<WebSocket>;
}

const rooms = new Map<number, Room>();
function room(id: number): Room {
  let r = rooms.get(id);
  if (!r) {
    r = { seq: 0, members: new Set() };
    rooms.set(id, r);
  }
  return r;
}

const server = http.createServer((req, res) => {
  res.statusCode = req.url === "/healthz" ? 200 : 404;
  res.end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false });

wss.on("connection", (ws, req) => {
  ws.on("error", () => ws.terminate());
  const url = new URL(req.url ?? "/", "http://peer");
  const roomParam = url.searchParams.get("room");
  if (roomParam !== null) {
    const r = room(Number(roomParam));
    ws.send(JSON.stringify({ ready: r.seq }));
    r.members.add(ws);
    ws.on("close", () => r.members.delete(ws));
    return;
  }
  // The publisher.
  ws.on("message", (data) => {
    let m: { id: number; room: number; text: string };
    try {
      m = JSON.parse(data.toString());
    } catch {
      ws.send(JSON.stringify({ error: "not JSON" }));
      return;
    }
    const r = room(m.room);
    r.seq += 1;
    const frame = Buffer.from(JSON.stringify({ room: m.room, seq: r.seq, text: m.text }));
    for (const member of r.members) {
      if (member.readyState === WebSocket.OPEN) member.send(frame, { binary: false });
    }
    ws.send(JSON.stringify({ ack: m.id, seq: r.seq }));
  });
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1");

function shutdown(): void {
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
