// Guards against prisma/schema.prisma and prisma/migrations drifting apart:
// the database the migrations build must be exactly what the schema declares.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectTestServer, createTestDatabase } from "../support/db.js";
import {
  diffSchemas,
  expectedSchema,
  introspectDatabase,
  type SchemaShape,
} from "../support/schema-drift.js";

const SCHEMA = readFileSync(new URL("../../prisma/schema.prisma", import.meta.url), "utf8");

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let actual: SchemaShape;
beforeAll(async () => {
  db = await createTestDatabase();
  actual = await introspectDatabase(db.url);
});
afterAll(async () => {
  await db?.drop();
});

/** `text` with `from` replaced, failing loudly if `from` is absent (the test would prove nothing). */
function edit(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe("schema drift", () => {
  it("the migrated database matches prisma/schema.prisma", () => {
    const differences = diffSchemas(expectedSchema(SCHEMA), actual);
    expect(
      differences,
      `prisma/schema.prisma and prisma/migrations disagree; add a migration:\n  ${differences.join("\n  ")}`,
    ).toEqual([]);
  });

  it("reports every difference when the schema changes", () => {
    let changed = edit(SCHEMA, "@db.VarChar(32)\n", "@db.VarChar(40)\n");
    changed = edit(changed, "  lastSeenAt ", "  nickname String? @db.VarChar(20)\n  lastSeenAt ");
    changed = edit(changed, "@@index([displayName])", "@@index([displayName, createdAt])");
    changed = edit(changed, ", onDelete: Cascade)", ")");
    changed = edit(changed, 'deviceName String    @default("")', "deviceName String?");
    expect(diffSchemas(expectedSchema(changed), actual)).toEqual([
      "column sessions.device_name: nullable is true in the schema but false in the database",
      "column sessions.device_name: hasDefault is false in the schema but true in the database",
      "foreign key sessions.sessions_user_id_fkey: (user_id) -> users(id) ON DELETE RESTRICT ON UPDATE CASCADE in the schema but (user_id) -> users(id) ON DELETE CASCADE ON UPDATE CASCADE in the database",
      "column users.nickname: missing from the database",
      "column users.username: type is VARCHAR(40) in the schema but VARCHAR(32) in the database",
      "index users.users_display_name_created_at_idx: normal (display_name, created_at) missing from the database",
      "index users.users_display_name_idx: normal (display_name) in the database but not in the schema",
    ]);
  });

  it("reports every difference when the database changes", async () => {
    const scratch = await createTestDatabase();
    try {
      const conn = await connectTestServer();
      try {
        await conn.query(`USE \`${scratch.name}\``);
        await conn.query("ALTER TABLE sessions MODIFY token_hash BINARY(16) NOT NULL");
        await conn.query(
          "ALTER TABLE users MODIFY id BIGINT NOT NULL, DROP INDEX users_username_key_key",
        );
        await conn.query("ALTER TABLE users ADD COLUMN extra INT NULL");
        await conn.query("CREATE TABLE stray (id INT NOT NULL PRIMARY KEY)");
      } finally {
        await conn.end();
      }
      expect(diffSchemas(expectedSchema(SCHEMA), await introspectDatabase(scratch.url))).toEqual([
        "column sessions.token_hash: type is BINARY(32) in the schema but BINARY(16) in the database",
        "table stray: in the database but not in the schema",
        "column users.extra: in the database but not in the schema",
        "column users.id: autoIncrement is true in the schema but false in the database",
        "index users.users_username_key_key: unique (username_key) missing from the database",
      ]);
    } finally {
      await scratch.drop();
    }
  });
});
