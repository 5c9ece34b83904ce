/**
 * `npm run bench -- hostile`: what strangers can make the server hold. The
 * server runs as production starts it (its default limits unless
 * overridden with --env); the load generator opens, per scenario, N
 * connections that never finish what they start, and measures the
 * server's RSS (VmRSS, sampled every 50 ms) above its idle baseline, and
 * how long the server takes to close each of them:
 *
 *   slow-bodies   POST with `Content-Length: 1 MiB` and no token, --body-kib
 *                 sent, then nothing (an authenticated procedure)
 *   slow-public   the same to AuthService/Login (no token needed), the body
 *                 chunked (no length to refuse it by) and stopping just below
 *                 the limit for calls without a token
 *   idle-h2       the HTTP/2 preface and SETTINGS, then no stream
 *   watch         grpc.health.v1.Health/Watch streams without a token, 100
 *                 per HTTP/2 session
 *
 * The target (issue 10): 1,000 of them grow RSS by at most 50 MiB and all
 * are closed within the configured timeouts (Watch streams are long-lived
 * by design: there the target is the cap on how many are admitted). One
 * line per scenario; the full record goes to bench/results/hostile.jsonl.
 */
import { appendFileSync, readFileSync } from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { benchDatabase } from "./bench-database.js";
import { machineInfo } from "./machine.js";
import { repoRoot, type ServerProcess, startServer } from "./server-process.js";

export const hostileUsage = `usage: npm run bench -- hostile [options]

  --connections N     connections (or streams) per scenario       (1000)
  --body-kib N        body bytes sent by slow-bodies, in KiB      (256)
  --scenarios LIST    comma-separated: slow-bodies,slow-public,idle-h2,watch (all)
  --wait-s N          longest wait for the server to close them   (30)
  --env K=V           server environment (e.g. BODY_TIMEOUT_SECONDS=5), repeatable`;

export interface HostileOptions {
  connections: number;
  bodyKiB: number;
  scenarios: string[];
  waitS: number;
  env: Record<string, string>;
}

const allScenarios = ["slow-bodies", "slow-public", "idle-h2", "watch"];

export function parseHostileOptions(argv: string[]): HostileOptions {
  const o: HostileOptions = {
    connections: 1000,
    bodyKiB: 256,
    scenarios: allScenarios,
    waitS: 30,
    env: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[++i] ?? "";
    const num = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`${arg} needs a positive integer\n${hostileUsage}`);
      return n;
    };
    if (arg === "--connections") o.connections = num();
    else if (arg === "--body-kib") o.bodyKiB = num();
    else if (arg === "--wait-s") o.waitS = num();
    else if (arg === "--scenarios") {
      o.scenarios = value.split(",").filter(Boolean);
      for (const s of o.scenarios) {
        if (!allScenarios.includes(s)) throw new Error(`unknown scenario ${s}\n${hostileUsage}`);
      }
    } else if (arg === "--env") {
      const at = value.indexOf("=");
      if (at < 1) throw new Error(`--env needs K=V\n${hostileUsage}`);
      o.env[value.slice(0, at)] = value.slice(at + 1);
    } else throw new Error(`unknown option ${arg}\n${hostileUsage}`);
  }
  return o;
}

/** Current resident set of a process, bytes. */
function vmRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

/** One held resource: when it was opened and when the server closed it. */
interface Held {
  opened: number;
  closed?: number;
  /** The server answered something before closing (e.g. 401, 408, 429). */
  answer?: string;
}

interface ScenarioResult {
  scenario: string;
  opened: number;
  closedByServer: number;
  /** Admitted long-lived streams (watch only). */
  admitted?: number;
  rssBaselineMiB: number;
  /** Highest VmRSS above the baseline while the scenario ran (garbage included). */
  rssPeakDeltaMiB: number;
  /** RSS above the baseline after a full GC, once everything was opened (what stays). */
  rssAfterGcDeltaMiB: number;
  closeMsP50?: number;
  closeMsMax?: number;
  answers: Record<string, number>;
}

const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

function rawSocket(port: number, held: Held, onData?: (s: string) => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.setNoDelay(true);
    sock.on("data", (c: Buffer) => {
      if (held.answer === undefined) {
        const text = c.toString("latin1", 0, Math.min(c.length, 64));
        held.answer = text.startsWith("HTTP/") ? text : "(HTTP/2 frames)";
      }
      onData?.(c.toString("latin1"));
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

async function openSlowBodies(port: number, n: number, bodyKiB: number, held: Held[]) {
  const sockets: net.Socket[] = [];
  const chunk = Buffer.alloc(bodyKiB * 1024, 0x0a);
  for (let i = 0; i < n; i++) {
    const h: Held = { opened: Date.now() };
    held.push(h);
    const s = await rawSocket(port, h);
    s.write(
      "POST /chat.v1.MessageService/SendMessage HTTP/1.1\r\nHost: x\r\n" +
        "Content-Type: application/proto\r\nContent-Length: 1048576\r\n\r\n",
    );
    s.write(chunk, () => {});
    sockets.push(s);
  }
  return sockets;
}

async function openSlowPublic(port: number, n: number, held: Held[]) {
  const sockets: net.Socket[] = [];
  // Just under the 4 KiB a call without a token may send (server/rpc/gate.ts).
  const part = Buffer.alloc(3.5 * 1024, 0x0a);
  for (let i = 0; i < n; i++) {
    const h: Held = { opened: Date.now() };
    held.push(h);
    const s = await rawSocket(port, h);
    s.write(
      "POST /chat.v1.AuthService/Login HTTP/1.1\r\nHost: x\r\n" +
        "Content-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    s.write(`${part.length.toString(16)}\r\n`);
    s.write(part);
    s.write("\r\n", () => {});
    sockets.push(s);
  }
  return sockets;
}

async function openIdleH2(port: number, n: number, held: Held[]) {
  const sockets: net.Socket[] = [];
  const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
  const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
  for (let i = 0; i < n; i++) {
    const h: Held = { opened: Date.now() };
    held.push(h);
    const s = await rawSocket(port, h);
    s.write(Buffer.concat([preface, settings]));
    sockets.push(s);
  }
  return sockets;
}

async function openWatches(baseUrl: string, n: number, held: Held[]) {
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
  return { sessions, admitted };
}

function destroyAll(items: { destroy(): void }[]): void {
  for (const x of items) x.destroy();
}

async function runScenario(
  server: ServerProcess,
  scenario: string,
  o: HostileOptions,
): Promise<ScenarioResult> {
  // Start-up garbage settles over a few GCs: the lowest of three is the baseline.
  let baseline = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    baseline = Math.min(baseline, (await server.memory()).rss);
    await new Promise((r) => setTimeout(r, 300));
  }
  let peak = vmRss(server.pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, vmRss(server.pid));
  }, 50);
  const held: Held[] = [];
  let cleanup: () => void = () => {};
  let admitted: number | undefined;
  let afterGc = baseline;
  try {
    if (scenario === "slow-bodies") {
      const s = await openSlowBodies(server.port, o.connections, o.bodyKiB, held);
      cleanup = () => destroyAll(s);
    } else if (scenario === "slow-public") {
      const s = await openSlowPublic(server.port, o.connections, held);
      cleanup = () => destroyAll(s);
    } else if (scenario === "idle-h2") {
      const s = await openIdleH2(server.port, o.connections, held);
      cleanup = () => destroyAll(s);
    } else {
      const w = await openWatches(server.baseUrl, o.connections, held);
      admitted = w.admitted;
      cleanup = () => destroyAll(w.sessions);
    }
    const openedAll = Date.now();
    afterGc = (await server.memory()).rss;
    // Until the server closed everything (Watch: a moment to settle), or the wait is over.
    const deadline = openedAll + (scenario === "watch" ? 2_000 : o.waitS * 1000);
    while (Date.now() < deadline) {
      if (scenario !== "watch" && held.every((h) => h.closed !== undefined)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    peak = Math.max(peak, vmRss(server.pid));
  } finally {
    clearInterval(sampler);
    cleanup();
  }
  const closeMs = held
    .filter((h) => h.closed !== undefined)
    .map((h) => (h.closed as number) - h.opened)
    .sort((a, b) => a - b);
  const answers: Record<string, number> = {};
  for (const h of held) {
    const key = (h.answer ?? "(nothing)").split("\r\n")[0] ?? "";
    answers[key] = (answers[key] ?? 0) + 1;
  }
  // Let the server forget these before the next scenario.
  await new Promise((r) => setTimeout(r, 1_000));
  return {
    scenario,
    opened: held.length,
    closedByServer: closeMs.length,
    admitted,
    rssBaselineMiB: mib(baseline),
    rssPeakDeltaMiB: mib(peak - baseline),
    rssAfterGcDeltaMiB: mib(afterGc - baseline),
    closeMsP50: closeMs[Math.floor(closeMs.length / 2)],
    closeMsMax: closeMs.at(-1),
    answers,
  };
}

export async function runHostile(o: HostileOptions): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  // A fresh server per scenario, so one scenario's garbage is not the next one's baseline.
  for (const scenario of o.scenarios) {
    const db = benchDatabase();
    const server = await startServer({ databaseUrl: db.url, env: o.env });
    try {
      const r = await runScenario(server, scenario, o);
      results.push(r);
      process.stdout.write(
        `${r.scenario.padEnd(12)} ${r.opened} opened, ${r.closedByServer} closed by the server` +
          (r.admitted !== undefined ? `, ${r.admitted} admitted` : "") +
          `; RSS peak +${r.rssPeakDeltaMiB} MiB, after GC +${r.rssAfterGcDeltaMiB} MiB (baseline ${r.rssBaselineMiB} MiB)` +
          (r.closeMsMax !== undefined
            ? `; closed after p50 ${r.closeMsP50} ms, max ${r.closeMsMax} ms`
            : "") +
          `; answers ${JSON.stringify(r.answers)}\n`,
      );
    } finally {
      await server.stop();
      await db.drop();
    }
  }
  const record = {
    bench: "hostile",
    schema: 1,
    date: new Date().toISOString(),
    machine: machineInfo(repoRoot),
    options: o,
    results,
  };
  appendFileSync(
    new URL("./results/hostile.jsonl", import.meta.url),
    `${JSON.stringify(record)}\n`,
  );
  return results;
}
