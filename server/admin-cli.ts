/**
 * `npm run admin -- keys create|list|revoke`: manages AdminService's API
 * keys directly in the database (DATABASE_URL), so the first key needs
 * nothing but database access. `npm run admin -- search backfill` gives
 * search tokens to messages stored without them (domain/search/search-backfill.ts). Applies pending migrations first, as the
 * server does, when AUTO_MIGRATE is on.
 */
import { adminUsage, parseAdminArgs } from "./admin-args.js";
import { loadConfig } from "./config.js";
import { ApiKeys } from "./domain/admin/api-keys.js";
import { backfillSearchTokens } from "./domain/search/search-backfill.js";
import { ensureDatabase, migrate } from "./store/migrate/migrate.js";
import { createPrisma } from "./store/prisma.js";

async function run(argv: string[]): Promise<void> {
  const cmd = parseAdminArgs(argv);
  if (cmd.kind === "help") {
    console.log(adminUsage);
    return;
  }
  const config = loadConfig(process.env);
  if (config.autoMigrate) {
    await ensureDatabase(config.databaseUrl);
    await migrate(config.databaseUrl);
  }
  const prisma = createPrisma(config.databaseUrl);
  try {
    const keys = new ApiKeys(prisma);
    switch (cmd.kind) {
      case "search-backfill": {
        const stop = new AbortController();
        // Ctrl-C ends the current window cleanly; the printed id resumes.
        process.once("SIGINT", () => stop.abort());
        let shown = 0;
        const p = await backfillSearchTokens(prisma, {
          afterId: cmd.afterId,
          window: cmd.window,
          signal: stop.signal,
          onWindow: (w) => {
            if (Date.now() - shown < 2000) return;
            shown = Date.now();
            console.log(`up to id ${w.lastId} of ${w.maxId}: ${w.written} messages given tokens`);
          },
        });
        const how = p.lastId >= p.maxId ? "done" : `stopped; resume with --after-id ${p.lastId}`;
        console.log(
          `${how}: up to id ${p.lastId} of ${p.maxId}, ${p.written} messages given tokens`,
        );
        break;
      }
      case "create": {
        const { id, key } = await keys.create(cmd.name, cmd.scope);
        console.log(`created API key ${id} '${cmd.name}' (${cmd.scope}); it is shown only once:`);
        console.log(key);
        break;
      }
      case "list": {
        for (const k of await keys.list()) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
          const used = k.lastUsedAt ? k.lastUsedAt.toISOString() : "never";
          console.log(
            `${k.id}\t${k.name}\t${k.scope}\tcreated ${k.createdAt.toISOString()}\tlast used ${used}\t${state}`,
          );
        }
        break;
      }
      case "revoke": {
        const n = await keys.revoke(cmd.key);
        if (n === 0) {
          console.error(`no active key with id or name '${cmd.key}'`);
          process.exitCode = 1;
        } else console.log(`revoked ${n} key(s)`);
        break;
      }
    }
  } finally {
    await prisma.$disconnect();
  }
}

run(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
