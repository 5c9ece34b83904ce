/**
 * Uploads as the server takes them (README "Files and images"): announce
 * the file with UploadService.CreateUpload, then `PUT` its bytes to the
 * returned path with the same bearer token. Works wherever `fetch` does
 * (Node.js 20+, browsers); the answer is the stored Attachment, whose id
 * goes in SendMessageRequest.attachment_ids.
 */
import { fromJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Attachment, AttachmentSchema, type UploadLimits } from "./gen/chat/v1/upload_pb.js";

/** What to upload. */
export interface UploadInput {
  /** File name shown to readers (path parts are dropped by the server). */
  name: string;
  /** The bytes: a Blob (a browser File) or a byte array. */
  data: Blob | Uint8Array;
  /** The type you believe it is (a hint only: the server detects it from the bytes). */
  declaredType?: string;
  signal?: AbortSignal;
}

/** The calls an upload needs (a ChatClient provides them). */
export interface UploadDeps {
  /** The server, e.g. `http://localhost:8080` (the PUT goes to a path on it). */
  baseUrl: string;
  token(): Promise<string | undefined>;
  createUpload(
    req: { name: string; sizeBytes: bigint; declaredType: string },
    signal?: AbortSignal,
  ): Promise<{ upload?: { uploadUrl: string }; limits?: UploadLimits }>;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

const codes: Record<string, Code> = Object.fromEntries(
  Object.entries(Code)
    .filter(([k]) => Number.isNaN(Number(k)))
    .map(([k, v]) => [k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(), v as Code]),
);

/** Announces and sends one file; resolves with the stored attachment. */
export async function uploadFile(deps: UploadDeps, input: UploadInput): Promise<Attachment> {
  const size = input.data instanceof Blob ? input.data.size : input.data.byteLength;
  const created = await deps.createUpload(
    { name: input.name, sizeBytes: BigInt(size), declaredType: input.declaredType ?? "" },
    input.signal,
  );
  const path = created.upload?.uploadUrl;
  if (!path) throw new ConnectError("the server returned no upload URL", Code.Internal);
  const token = await deps.token();
  const body = input.data instanceof Blob ? input.data : new Blob([new Uint8Array(input.data)]);
  const res = await (deps.fetch ?? fetch)(new URL(path, deps.baseUrl), {
    method: "PUT",
    body,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: input.signal,
  });
  const text = await res.text();
  if (!res.ok) {
    let code = Code.Unknown;
    let message = `upload failed with HTTP ${res.status}`;
    try {
      const err = JSON.parse(text) as { code?: string; message?: string };
      code = (err.code && codes[err.code]) || code;
      message = err.message ?? message;
    } catch {
      // Not our JSON (a proxy's page): keep the status.
    }
    throw new ConnectError(message, code);
  }
  return fromJson(AttachmentSchema, JSON.parse(text));
}
