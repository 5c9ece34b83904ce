/**
 * Peer server: Socket.IO rooms, the way Socket.IO broadcasts
 * (`io.to(room).emit(...)`: the in-memory adapter encodes the packet once
 * and writes it to every socket of the room), with a per-room sequence
 * (protocol in ./peers.ts). WebSocket transport only (no HTTP long
 * polling, no upgrade), no compression. Run as its own process by
 * bench/peers/peer-process.ts on 127.0.0.1:$PORT; `/healthz` answers 200
 * once listening.
 */
import http from "node:http";
import { Server } from "socket.io";

const seqs = new Map<number, number>();

const server = http.createServer((req, res) => {
  res.statusCode = req.url === "/healthz" ? 200 : 404;
  res.end();
});
const io = new Server(server, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
});

io.on("connection", (socket) => {
  socket.on("join", (room: number, ack: (seq: number) => void) => {
    void socket.join(`r${room}`);
    ack(seqs.get(room) ?? 0);
  });
  socket.on(
    "publish",
    (m: { room: number; text: string }, ack: (r: { seq: number } | { error: string }) => void) => {
      if (typeof m?.room !== "number" || typeof m.text !== "string") {
        ack({ error: "bad publish" });
        return;
      }
      const seq = (seqs.get(m.room) ?? 0) + 1;
      seqs.set(m.room, seq);
      io.to(`r${m.room}`).emit("m", { room: m.room, seq, text: m.text });
      ack({ seq });
    },
  );
});

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1");

function shutdown(): void {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
