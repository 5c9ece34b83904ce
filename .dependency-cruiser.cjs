/**
 * The server's layers and doors, checked in CI (`npm run depcruise`).
 * Layers, each importing only those before it:
 *   config.ts (a leaf) <- platform <- store <- domain <- realtime <- rpc <- app.ts, main.ts
 * Doors: only store/ reaches the generated Prisma client and the mariadb
 * driver; only platform/connect-protocol.ts reaches connect's @private
 * protocol modules. Type-only imports count too.
 */
const layer = (name, forbidden) => ({
  name: `${name}-layer`,
  comment: `server/${name} must not import ${forbidden.join(", ")} (see docs/architecture.md)`,
  severity: "error",
  from: { path: `^server/${name}/` },
  to: { path: `^server/(${forbidden.map((f) => f.replace(/\.ts$/, "\\.ts")).join("|")})` },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "dependency cycles, type-only ones included",
      severity: "error",
      from: { path: "^server/" },
      to: { circular: true },
    },
    {
      name: "config-is-a-leaf",
      severity: "error",
      from: { path: "^server/(config|config-settings|config-types|tuning)\\.ts$" },
      to: {
        path: "^server/",
        pathNot: "^server/(config|config-settings|config-types|tuning)\\.ts$",
      },
    },
    layer("platform", ["store/", "domain/", "realtime/", "rpc/", "app.ts", "main.ts"]),
    layer("store", ["domain/", "realtime/", "rpc/", "app.ts", "main.ts"]),
    layer("domain", ["realtime/", "rpc/", "app.ts", "main.ts"]),
    layer("realtime", ["rpc/", "app.ts", "main.ts"]),
    layer("rpc", ["app.ts", "main.ts"]),
    {
      name: "prisma-client-behind-store",
      comment: "only server/store imports the generated Prisma client (others use store/prisma.ts)",
      severity: "error",
      from: { path: "^server/", pathNot: "^server/store/" },
      to: { path: "^prisma/generated/" },
    },
    {
      name: "mariadb-behind-store",
      comment: "only server/store talks to the mariadb driver",
      severity: "error",
      from: { path: "^server/", pathNot: "^server/store/" },
      to: { path: "node_modules/mariadb/" },
    },
    {
      name: "connect-protocol-behind-one-door",
      comment:
        "connect's @private protocol modules only through server/platform/connect-protocol.ts",
      severity: "error",
      from: { path: "^server/", pathNot: "^server/platform/connect-protocol\\.ts$" },
      to: { path: "node_modules/@connectrpc/connect/dist/.*/protocol" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.server.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".d.ts"],
    },
    exclude: { path: "\\.test\\.ts$" },
  },
};
