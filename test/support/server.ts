/**
 * The chat server in the test process: built by createChatServer from a
 * test environment's dependencies, on 127.0.0.1, port 0 the first time and
 * the same port when started again (a restart clients can find). For the
 * server as a process of its own, see processes.ts.
 */
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import { type ChatServer, type ChatServerDeps, createChatServer } from "../../server/app.js";
import type { TestEnv } from "./env.js";

/** A server of a test environment that can be stopped and started again on its port. */
export class TestServer {
  private chat: ChatServer | undefined;
  private listenPort = 0;

  /** `overrides` go over `env.deps`, read at each start. */
  constructor(
    private readonly env: TestEnv,
    private readonly overrides: Partial<ChatServerDeps> = {},
  ) {}

  /** The port it listens on (kept while it is stopped). */
  get port(): number {
    if (this.listenPort === 0) throw new Error("the test server was never started");
    return this.listenPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.chat !== undefined;
  }

  /** The running server. */
  get server(): ChatServer {
    if (!this.chat) throw new Error("the test server is not running");
    return this.chat;
  }

  /** Listens (on its old port after a stop); resolves once it serves. */
  async start(): Promise<this> {
    if (this.chat) throw new Error("the test server is running already");
    const chat = createChatServer({ ...this.env.deps, ...this.overrides });
    this.listenPort = (await chat.listen(this.listenPort, "127.0.0.1")).port;
    this.chat = chat;
    return this;
  }

  /** Graceful shutdown within `timeoutMs`; nothing when not running. */
  async stop(timeoutMs = 2_000): Promise<void> {
    const chat = this.chat;
    this.chat = undefined;
    await chat?.shutdown(timeoutMs);
  }
}

/** Starts a server of `env` (with `overrides`); it stops when the env closes. */
export async function startServer(
  env: TestEnv,
  overrides: Partial<ChatServerDeps> = {},
): Promise<TestServer> {
  const server = await new TestServer(env, overrides).start();
  env.onClose(() => server.stop());
  return server;
}

/** A logger at `level` whose JSON lines the test reads in `lines`. */
export function captureLogs(level = "info"): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split("\n")) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
