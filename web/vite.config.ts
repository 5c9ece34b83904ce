import { defineConfig } from "vite";

// The API runs on the same origin in production; in development Vite
// proxies every RPC path (package.Service/Method) to the server.
export default defineConfig({
  root: __dirname,
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    proxy: {
      "^/(chat|grpc)\\.": { target: process.env.API_URL ?? "http://127.0.0.1:8080" },
      "/healthz": { target: process.env.API_URL ?? "http://127.0.0.1:8080" },
    },
  },
});
