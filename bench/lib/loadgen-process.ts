/**
 * A load generator as a child process of a scenario orchestrator (fanout,
 * sends, storm, resume, hold), spoken to one request (one phase) at a
 * time over the fork IPC channel, so the orchestrator can read the
 * server's CPU time and memory between phases. The "advanced"
 * serialization carries bigints (room ids, sequences) as they are.
 *
 * Parent side: {@link LoadgenProcess}. Child side: {@link serveLoadgen}.
 * The child reports `{ type: "error" }` when a handler throws, sends log
 * lines as `{ type: "log" }`, closes on `{ type: "close" }` and exits by
 * itself when the parent goes away.
 */
import { type ChildProcess, fork } from "node:child_process";
import { withTimeout } from "./timers.js";

/** Every message has a type. */
export interface Typed {
  type: string;
}

/** What the child may send besides replies. */
type Control = { type: "error"; message: string } | { type: "log"; line: string };

/** The orchestrator's handle on a load generator process. */
export class LoadgenProcess<Req extends Typed, Res extends Typed> {
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private waiting: ((msg: Res | Control | Error) => void) | undefined;
  private exitDescription: string | undefined;

  /**
   * Forks `script` (a .ts file run through tsx). `nodeOptions` go before
   * the script (e.g. `--max-old-space-size=8192`); `log` receives the
   * child's log lines.
   */
  constructor(
    script: URL,
    private readonly name: string,
    nodeOptions: string[] = [],
    log: (line: string) => void = () => {},
  ) {
    this.child = fork(script, [], {
      execArgv: [...nodeOptions, "--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.child.on("message", (msg: Res | Control) => {
      if (msg.type === "log") log((msg as { line: string }).line);
      else this.waiting?.(msg);
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitDescription = String(code ?? signal);
        this.waiting?.(new Error(`the ${name} process exited (${code ?? signal})`));
        resolve();
      });
    });
  }

  /** The child's pid (for /proc figures). */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Exit code or signal once it has exited. */
  get exitCode(): string | undefined {
    return this.exitDescription;
  }

  /** Sends `msg` and waits for the reply of type `type`. */
  async request<T extends Res["type"]>(
    msg: Req,
    type: T,
    timeoutMs: number,
  ): Promise<Extract<Res, { type: T }>> {
    if (this.exitDescription !== undefined) {
      throw new Error(`the ${this.name} process exited (${this.exitDescription})`);
    }
    const reply = new Promise<Res>((resolve, reject) => {
      this.waiting = (m) => {
        this.waiting = undefined;
        if (m instanceof Error) reject(m);
        else if (m.type === "error")
          reject(new Error(`${this.name}: ${(m as Control & { message: string }).message}`));
        else resolve(m as Res);
      };
    });
    this.child.send(msg);
    try {
      const m = await withTimeout(reply, timeoutMs, `${this.name} "${msg.type}"`);
      if (m.type !== type) throw new Error(`${this.name} answered ${m.type}, expected ${type}`);
      return m as Extract<Res, { type: T }>;
    } finally {
      this.waiting = undefined;
    }
  }

  /** Asks it to close its streams and exit; SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: "close" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Sends a message to the orchestrator; resolves once it is handed over. */
export function sendToParent(msg: Typed | Control): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) resolve();
    else process.send(msg, undefined, undefined, () => resolve());
  });
}

/** A log line shown by the orchestrator (stderr, with its prefix). */
export function logToParent(line: string): void {
  void sendToParent({ type: "log", line });
}

/**
 * Child side: answers each request with `handle`'s result; on
 * `{ type: "close" }`, on a failed handler and when the parent is gone,
 * runs `close` (bounded to 10 s) and exits.
 */
export function serveLoadgen<Req extends Typed, Res extends Typed>(
  handle: (msg: Req) => Promise<Res>,
  close: () => Promise<void>,
): void {
  let closing = false;
  const exit = async (code: number) => {
    if (closing) return;
    closing = true;
    await Promise.race([close().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
    process.exit(code);
  };
  process.on("message", (msg: Req | { type: "close" }) => {
    if (msg.type === "close") {
      void exit(0);
      return;
    }
    handle(msg as Req).then(
      (reply) => sendToParent(reply),
      async (err: unknown) => {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        await sendToParent({ type: "error", message });
        await exit(1);
      },
    );
  });
  // The orchestrator is gone (crash, SIGKILL): do not linger.
  process.on("disconnect", () => void exit(0));
  // Ctrl-C reaches the whole process group: the orchestrator cleans up and
  // tells us to close; exiting here at once would only race it.
  process.on("SIGINT", () => {});
}
