/** Helpers of the file tests: announcing and sending uploads as any HTTP client would. */
import { request } from "node:http";
import type { Transport } from "@connectrpc/connect";
import { UploadService } from "../../gen/chat/v1/upload_pb.js";
import { authed } from "../support/clients.js";
import type { TestUser } from "../support/users.js";

/** The UploadService client of a user on a transport. */
export function uploadsOf(user: TestUser, transport: Transport) {
  return authed(UploadService, transport, user.token);
}

/** `PUT` of a body to `url` with a token (or none); the answer's status, headers and body. */
export async function put(
  url: string,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  token?: string,
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const init: RequestInit & { duplex?: "half" } = { method: "PUT", headers };
  if (body instanceof Uint8Array) init.body = new Blob([Buffer.from(body)]);
  else {
    // undici streams an async iterable as a chunked body.
    init.body = body as unknown as BodyInit;
    init.duplex = "half";
  }
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** `GET` (or HEAD) with a token and extra headers. */
export async function get(
  url: string,
  token: string | undefined,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const h: Record<string, string> = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method, headers: h });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Announces `bytes` and sends them; returns the upload id and the PUT's answer. */
export async function uploadFile(
  baseUrl: string,
  user: TestUser,
  transport: Transport,
  name: string,
  bytes: Uint8Array,
  declaredType = "",
): Promise<{ id: bigint; status: number; text: string }> {
  const created = await uploadsOf(user, transport).createUpload({
    name,
    sizeBytes: BigInt(bytes.length),
    declaredType,
  });
  const upload = created.upload;
  if (!upload) throw new Error("no upload");
  const res = await put(baseUrl + upload.uploadUrl, bytes, user.token);
  return { id: upload.id, status: res.status, text: res.text };
}

/**
 * A PUT announcing `length` bytes that sends `sent` of them and then drops
 * the connection (a client that went away mid-upload).
 */
export function truncatedPut(
  url: string,
  token: string,
  length: number,
  sent: Uint8Array,
): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-length": String(length) },
    });
    req.on("error", () => resolve());
    req.write(sent, () => {
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
  });
}
