// Runs `prisma generate` offline. The Prisma CLI insists on locating its
// native schema engine before generating, although generation never uses it;
// that engine cannot be downloaded on our machines, so point the CLI at an
// existing file (this script) when no engine is configured.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(import.meta.url);
env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
const result = spawnSync("npx", ["--no-install", "prisma", "generate"], {
  stdio: "inherit",
  env,
});
process.exit(result.status ?? 1);
