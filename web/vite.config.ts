import { defaultClientConditions, defineConfig } from "vite";

// The API runs on the same origin in production; in development Vite
// proxies every RPC path (package.Service/Method) to the server.
export default defineConfig({
  root: __dirname,
  esbuild: { jsx: "automatic" },
  // The SDK (a workspace package) is bundled from its TypeScript source.
  resolve: { conditions: ["protochat-source", ...defaultClientConditions] },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    rollupOptions: {
      output: {
        // Libraries change less often than the app: separate, long-cached files.
        manualChunks: {
          react: ["react", "react-dom", "react-dom/client"],
          rpc: ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-web"],
          query: ["@tanstack/react-query", "@connectrpc/connect-query"],
        },
      },
    },
  },
  server: {
    proxy: {
      "^/(chat|grpc)\\.": { target: process.env.API_URL ?? "http://127.0.0.1:8080" },
      "/healthz": { target: process.env.API_URL ?? "http://127.0.0.1:8080" },
    },
  },
});
