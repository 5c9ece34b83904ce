import { defaultClientConditions, defaultServerConditions } from "vite";
import { configDefaults, defineConfig } from "vitest/config";

// Workspace packages (sdk/, ...) are imported from their TypeScript
// source through the "protochat-source" export condition, so tests, the
// type-check and the web build never depend on a stale build.
const source = "protochat-source";

/**
 * Tests that need neither MariaDB nor Redis nor a server process: the unit
 * tests beside the server's code, the SDK's tests against its fake server,
 * the web client's component tests. `npm run test:unit` runs only these,
 * in seconds; test/support/no-services.ts makes any of them that tries to
 * reach a service fail.
 */
const unit = [
  "server/**/*.test.ts",
  "web/src/**/*.test.{ts,tsx}",
  "sdk/test/backoff.test.ts",
  "sdk/test/chat-feed.test.ts",
  "sdk/test/resumable-feed.test.ts",
  "sdk/test/send.test.ts",
  "sdk/test/webhooks.test.ts",
  "examples/reminder-bot/test/commands.test.ts",
];

/** Everything else: real databases, Redis, servers, processes, browsers. */
const integration = [
  "test/**/*.test.ts",
  "sdk/test/**/*.test.ts",
  "examples/*/test/**/*.test.ts",
  "cli/test/**/*.test.ts",
];

export default defineConfig({
  resolve: { conditions: [source, ...defaultClientConditions] },
  ssr: {
    // Vitest hands these conditions to Node (--conditions) as well; "module"
    // is a bundlers' condition, and packages whose "module" build uses
    // extensionless imports (@aws-sdk/*) would then fail to load in Node.
    resolve: {
      conditions: [source, ...defaultServerConditions.filter((c) => c !== "module")],
      externalConditions: [source],
    },
  },
  test: {
    pool: "forks",
    // Only the unit project runs in threads (pool options are per pool, not per project).
    poolOptions: { threads: { isolate: false } },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: unit,
          setupFiles: ["test/support/no-services.ts"],
          // Worker threads that run file after file in one module graph
          // (poolOptions.threads above): half the time of a fresh process
          // per file, and these tests keep no state between files.
          pool: "threads",
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: integration,
          exclude: [...configDefaults.exclude, ...unit],
        },
      },
    ],
  },
});
