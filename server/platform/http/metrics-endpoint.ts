/**
 * Serving Prometheus' exposition text: `GET /metrics` on the main port for
 * requests carrying the configured bearer token, or on a listener of its
 * own (meant for a private network) that serves nothing else.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The text and its content type. */
export interface Exposition {
  render(): Promise<string>;
  contentType: string;
}

/** Whether `header` is `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  const given = Buffer.from(match?.[1] ?? "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Answers one request for the metrics (`token`: required bearer token, if any). */
export async function serveMetrics(
  exposition: Exposition,
  req: IncomingMessage,
  res: ServerResponse,
  token?: string,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" });
    res.end();
    return;
  }
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
    res.writeHead(401, { "www-authenticate": "Bearer", "content-type": "text/plain" });
    res.end("metrics need 'Authorization: Bearer <METRICS_TOKEN>'\n");
    return;
  }
  const body = await exposition.render();
  res.writeHead(200, { "content-type": exposition.contentType, "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** A listener of its own serving `/metrics` only. */
export async function listenMetrics(
  exposition: Exposition,
  port: number,
  host: string | undefined,
  onError: (err: unknown) => void,
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/metrics") {
      res.writeHead(404);
      res.end();
      return;
    }
    serveMetrics(exposition, req, res).catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, address: server.address() as AddressInfo };
}
