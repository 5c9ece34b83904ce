// `npm run db:migrate`: creates the database if needed and applies pending
// migrations offline (no Prisma schema engine required).
import { loadConfig } from "../../config.js";
import { ensureDatabase, migrate, parseDatabaseUrl } from "./migrate.js";
const url = loadConfig(process.env).databaseUrl;
try {
    const { host, port, database } = parseDatabaseUrl(url);
    // Never print the URL itself: it may carry a password.
    const target = `${database} on ${host}:${port}`;
    if (await ensureDatabase(url))
        console.log(`created database ${target}`);
    const { applied } = await migrate(url, { log: (msg) => console.log(msg) });
    console.log(applied.length === 0
        ? `${target} is up to date`
        : `applied ${applied.length} migration(s) to ${target}: ${applied.join(", ")}`);
}
catch (err) {
    console.error(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
}
//# sourceMappingURL=migrate-cli.js.map