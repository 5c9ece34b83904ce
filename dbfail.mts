import { startPrivateMariaDb } from "./test/support/private-services.ts";
import { createPrisma } from "./server/db/prisma.ts";
import { ensureDatabase, migrate } from "./server/db/migrate.ts";
import { createSendPool } from "./server/rooms/sql-tx.ts";
const m = await startPrivateMariaDb();
const url = `${m.url}/chat`;
await ensureDatabase(url); await migrate(url, {log: () => {}});
const prisma = createPrisma(url);
const pool = createSendPool(url);
console.log(await prisma.user.count());
await pool.query("select 1");
await m.kill();
for (const [name, fn] of [["findMany", () => prisma.user.findMany()], ["raw", () => prisma.$queryRaw`SELECT 1`], ["tx", () => prisma.$transaction(async (tx) => tx.user.count())], ["pool", () => pool.query("select 1")], ["poolconn", () => pool.getConnection()]] as const) {
  const t = Date.now();
  try { await (fn as any)(); console.log(name, "ok?"); } catch (e: any) { console.log(name, Date.now()-t, "ms", e?.constructor?.name, "code", e?.code, "errno", e?.errno, "name", e?.name, "meta", JSON.stringify(e?.meta, (k,v)=> typeof v==="bigint"? String(v):v), "cause", e?.cause?.kind ?? e?.cause?.code, String(e?.message).slice(0,200)); }
}
await m.start();
const t = Date.now();
try { console.log("after restart", await prisma.user.count(), Date.now()-t); } catch (e: any) { console.log("after restart fails", e.message.slice(0,200)); }
try { console.log("pool after restart", await pool.query("select 1"), Date.now()-t); } catch (e: any) { console.log("pool after restart fails", e.message.slice(0,200)); }
await prisma.$disconnect(); await pool.end(); await m.destroy();
