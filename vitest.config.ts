import { defaultClientConditions, defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Workspace packages (sdk/, ...) are imported from their TypeScript
// source through the "protochat-source" export condition, so tests, the
// type-check and the web build never depend on a stale build.
const source = "protochat-source";

export default defineConfig({
  resolve: { conditions: [source, ...defaultClientConditions] },
  ssr: {
    resolve: { conditions: [source, ...defaultServerConditions], externalConditions: [source] },
  },
  test: {
    include: [
      "server/**/*.test.ts",
      "test/**/*.test.ts",
      "web/src/**/*.test.{ts,tsx}",
      "sdk/test/**/*.test.ts",
      "examples/*/test/**/*.test.ts",
      "cli/test/**/*.test.ts",
    ],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
