/**
 * `@protochat/sdk/web` bundles for browsers without Node.js modules: Vite
 * builds it for the browser and the bundle imports nothing (node:http2 and
 * friends would be left as unresolvable imports), while the Node entry
 * point cannot even be built for browsers. Both checks together show the
 * test can tell the difference.
 */
import { fileURLToPath } from "node:url";
import { build, defaultClientConditions, type Rollup } from "vite";
import { describe, expect, it } from "vitest";

const sdkSrc = fileURLToPath(new URL("../src/", import.meta.url));

async function bundle(entry: string): Promise<{ code: string; imports: string[] }> {
  const out = (await build({
    configFile: false,
    logLevel: "silent",
    resolve: { conditions: ["protochat-source", ...defaultClientConditions] },
    build: {
      write: false,
      minify: false,
      lib: { entry: `${sdkSrc}${entry}`, formats: ["es"], fileName: "bundle" },
      rollupOptions: { onwarn: () => {} },
    },
  })) as Rollup.RollupOutput[];
  const chunks = out.flatMap((o) => o.output).filter((c) => c.type === "chunk");
  return {
    code: chunks.map((c) => c.code).join("\n"),
    imports: chunks.flatMap((c) => [...c.imports, ...c.dynamicImports]),
  };
}

describe("the browser bundle", () => {
  it("of @protochat/sdk/web has no Node.js imports", async () => {
    const web = await bundle("web.ts");
    expect(web.imports).toEqual([]);
    expect(web.code).not.toMatch(/node:|from "http2"|require\("http2"\)/);
    expect(web.code).toContain("createWebTransport");
  }, 60_000);

  it("of @protochat/sdk/node fails for want of Node.js modules (the check above can fail)", async () => {
    await expect(bundle("node.ts")).rejects.toThrow(/node:/);
  }, 60_000);
});
