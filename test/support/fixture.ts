/**
 * The one setup of a test file: `setupTestEnv` registers the hooks that
 * create an environment (env.ts), its in-memory instances and, if asked, a
 * real server (server.ts), and close them all; what it returns is usable at
 * the top level of the file.
 */
import type { Transport } from "@connectrpc/connect";
import { afterAll, beforeAll } from "vitest";
import type { ChatServerDeps } from "../../server/app.js";
import { forwardingTransport } from "./clients.js";
import { createTestEnv, inMemoryTransport, type TestEnv, type TestEnvOptions } from "./env.js";
import { TestServer } from "./server.js";

/** What {@link setupTestEnv} sets up besides the env. */
export interface SetupTestEnvOptions extends TestEnvOptions {
  /** In-memory instances to create: `a` is the first, `b` the second. Default 1. */
  instances?: number;
  /** Set in `env.deps` before anything is built from them. */
  deps?: Partial<ChatServerDeps>;
  /** Also a real server on 127.0.0.1, port 0, with these dependencies over the env's. */
  server?: boolean | Partial<ChatServerDeps>;
}

/**
 * A file's environment, for use at the top level: its members exist at
 * once and are backed by what the hooks create, so test bodies use them
 * directly; reading one before `beforeAll` ran throws.
 */
export interface TestEnvFixture {
  env: TestEnv;
  /** The first in-memory instance (`a`). */
  transport: Transport;
  a: Transport;
  /** The second in-memory instance (`instances: 2`). */
  b: Transport;
  /** The real server, started by the hooks when `server` is set. */
  server: TestServer;
}

/**
 * Registers `beforeAll`/`afterAll` hooks in the calling suite that create
 * an environment (its own database, Redis prefix if asked), its in-memory
 * instances and, if asked, a real server; and close them all.
 */
export function setupTestEnv(opts: SetupTestEnvOptions = {}): TestEnvFixture {
  let current: TestEnv | undefined;
  let transports: Transport[] = [];

  beforeAll(async () => {
    current = await createTestEnv(opts);
    Object.assign(current.deps, opts.deps);
    transports = Array.from({ length: opts.instances ?? 1 }, () => inMemoryTransport(env));
    if (opts.server) {
      await server.start();
      current.onClose(() => server.stop());
    }
  });
  // Unset only when createTestEnv failed; vitest reports that failure.
  afterAll(() => current?.close());

  const ready = (): TestEnv => {
    if (!current) throw new Error("test env used before its beforeAll ran");
    return current;
  };
  const env: TestEnv = {
    get prisma() {
      return ready().prisma;
    },
    get databaseUrl() {
      return ready().databaseUrl;
    },
    get redis() {
      return ready().redis;
    },
    get redisUrl() {
      return ready().redisUrl;
    },
    get redisPrefix() {
      return ready().redisPrefix;
    },
    get deps() {
      return ready().deps;
    },
    set deps(deps) {
      ready().deps = deps;
    },
    onClose: (fn) => ready().onClose(fn),
    close: () => ready().close(),
  };
  const instance = (i: number) =>
    forwardingTransport(() => {
      const t = transports[i];
      if (!t)
        throw new Error(
          `in-memory instance ${i + 1} used, but setupTestEnv made ${transports.length}`,
        );
      return t;
    });
  const a = instance(0);
  const server = new TestServer(env, typeof opts.server === "object" ? opts.server : {});
  return { env, transport: a, a, b: instance(1), server };
}
