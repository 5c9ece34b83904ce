import { defineConfig } from "prisma/config";

// Used by the Prisma CLI (`prisma generate`, `prisma migrate deploy`).
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "mysql://root@127.0.0.1:3306/chat" },
});
