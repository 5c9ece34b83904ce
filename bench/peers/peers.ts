/**
 * The peers measured next to our server in every fan-out run: other ways
 * to broadcast a room's messages to many WebSocket subscribers in one
 * Node.js process. Each is a small server of its own (a file here), run
 * as its own process exactly like ours, and reached by the same load
 * generator.
 *
 * Wire protocol, the same for both (JSON text):
 * - subscriber: joins room R (ws: `/?room=R`; Socket.IO: `join` event with
 *   acknowledgement) and gets the room's last sequence (`{"ready":S}` /
 *   the acknowledgement) before any message of the room;
 * - publisher (one connection): `{"id":N,"room":R,"text":T}` (ws) or a
 *   `publish` event `{room,text}` with acknowledgement (Socket.IO); the
 *   server takes the room's next sequence S, broadcasts
 *   `{"room":R,"seq":S,"text":T}` to every subscriber of R (encoded once),
 *   then acknowledges (`{"ack":N,"seq":S}` / the acknowledgement).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Peer servers, in the order they run. */
export const peerNames = ["socketio", "ws"] as const;
export type PeerName = (typeof peerNames)[number];

/** What runs a peer. */
export interface PeerInfo {
  name: PeerName;
  /** npm package whose version is reported. */
  packageName: string;
  /** Short label for tables, without version. */
  label: string;
  /** The server script (run with tsx, like our server). */
  script: string;
}

export const peers: Record<PeerName, PeerInfo> = {
  socketio: {
    name: "socketio",
    packageName: "socket.io",
    label: "socket.io room",
    script: fileURLToPath(new URL("./socketio-server.ts", import.meta.url)),
  },
  ws: {
    name: "ws",
    packageName: "ws",
    label: "ws broadcast",
    script: fileURLToPath(new URL("./ws-server.ts", import.meta.url)),
  },
};

/** Installed version of the peer's package (from its package.json). */
export function peerVersion(name: PeerName): string {
  try {
    const file = fileURLToPath(
      new URL(`../../node_modules/${peers[name].packageName}/package.json`, import.meta.url),
    );
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
