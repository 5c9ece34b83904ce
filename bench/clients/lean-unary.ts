/**
 * `--client lean` unary calls: SendMessage (or any unary method) written
 * with `node:http` / `node:http2` directly, without the SDK's call
 * machinery, so the load generator is not what limits a send benchmark.
 * Measured with the SDK's transports on the shared 2-core machine
 * (bench/README.md, sends): 0.70-0.75 ms of load-generator CPU per
 * SendMessage over gRPC, more than the server spent on it.
 *
 * Each call: the request message encoded once with the generated type, one
 * request with the bearer token (and the deadline: `grpc-timeout` or
 * `connect-timeout-ms`), the response decoded into the generated type;
 * failures as ConnectError with the code and message the server sent
 * (gRPC status in trailers or a trailers-only response; Connect's JSON
 * error body). Left out: compression, interceptors, retries.
 *
 * Connections are laid out as for `--client sdk` (client-pool.ts):
 * `connect-h1` one keep-alive agent per client with `h1MaxSockets`
 * sockets, `grpc-h2` one HTTP/2 session per client, `grpc-h2-multi` one
 * session per `perSession` clients.
 */
import http from "node:http";
import http2 from "node:http2";
import {
  create,
  type DescMessage,
  type DescMethodUnary,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";
import { type ClientProtocol, defaultPerSession, type PoolOptions } from "./client-pool.js";

/** A unary call of one method for client `i`. */
export type LeanUnary<I extends DescMessage, O extends DescMessage> = (
  i: number,
  req: MessageInitShape<I>,
  opts: { token: string; timeoutMs: number },
) => Promise<MessageShape<O>>;

/** Lean unary callers of `method`, with connections per `protocol`. */
export function leanUnary<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  protocol: ClientProtocol,
  baseUrl: string,
  options: PoolOptions = {},
): { call: LeanUnary<I, O>; connections(): number; close(): void } {
  const path = `/${method.parent.typeName}/${method.name}`;
  const agents = new Map<number, http.Agent>();
  const sessions = new Map<number, http2.ClientHttp2Session>();
  const perSession = protocol === "grpc-h2-multi" ? (options.perSession ?? defaultPerSession) : 1;
  const url = new URL(baseUrl);

  const sessionFor = (i: number) => {
    const g = Math.floor(i / perSession);
    let s = sessions.get(g);
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(baseUrl);
      s.on("error", () => {});
      sessions.set(g, s);
    }
    return s;
  };

  const grpc = (i: number, req: MessageInitShape<I>, o: { token: string; timeoutMs: number }) =>
    new Promise<MessageShape<O>>((resolve, reject) => {
      const msg = toBinary(method.input, create(method.input, req));
      const body = Buffer.alloc(5 + msg.length);
      body.writeUInt32BE(msg.length, 1);
      body.set(msg, 5);
      const stream = sessionFor(i).request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc+proto",
        te: "trailers",
        authorization: `Bearer ${o.token}`,
        "grpc-timeout": `${o.timeoutMs}m`,
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = "";
      const take = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          message = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      stream.on("response", take);
      stream.on("trailers", take);
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (err) => reject(ConnectError.from(err, Code.Unavailable)));
      stream.on("close", () => {
        if (status === undefined) {
          reject(new ConnectError("stream closed without a status", Code.Unavailable));
        } else if (status !== "0") {
          reject(new ConnectError(message, Number(status) as Code));
        } else {
          const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
          resolve(fromBinary(method.output, all.subarray(5)));
        }
      });
      stream.end(body);
    });

  const connect = (i: number, req: MessageInitShape<I>, o: { token: string; timeoutMs: number }) =>
    new Promise<MessageShape<O>>((resolve, reject) => {
      let agent = agents.get(i);
      if (!agent) {
        agent = new http.Agent({ keepAlive: true, maxSockets: options.h1MaxSockets ?? 1 });
        agents.set(i, agent);
      }
      const body = toBinary(method.input, create(method.input, req));
      const r = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: "POST",
          path,
          agent,
          headers: {
            "content-type": "application/proto",
            "content-length": body.length,
            "connect-protocol-version": "1",
            "connect-timeout-ms": String(o.timeoutMs),
            authorization: `Bearer ${o.token}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => reject(ConnectError.from(err, Code.Unavailable)));
          res.on("end", () => {
            const all = Buffer.concat(chunks);
            if (res.statusCode === 200) {
              resolve(fromBinary(method.output, all));
              return;
            }
            try {
              const e = JSON.parse(all.toString("utf8")) as { code?: string; message?: string };
              reject(
                new ConnectError(e.message ?? "", codeFromString(e.code ?? "") ?? Code.Unknown),
              );
            } catch {
              reject(new ConnectError(`HTTP ${res.statusCode}`, Code.Unknown));
            }
          });
        },
      );
      r.on("error", (err) => reject(ConnectError.from(err, Code.Unavailable)));
      r.end(body);
    });

  return {
    call: protocol === "connect-h1" ? connect : grpc,
    connections: () => (protocol === "connect-h1" ? agents.size : sessions.size),
    close() {
      for (const a of agents.values()) a.destroy();
      for (const s of sessions.values()) s.close();
    },
  };
}
