/**
 * Browser uploads with progress: UploadService.CreateUpload, then the bytes
 * with `PUT <upload_url>` over XMLHttpRequest (fetch reports no upload
 * progress), the bearer token in the header. Downloads are fetched with the
 * token too and shown from blob URLs (the server signs no URLs).
 */
import { fromJson } from "@bufbuild/protobuf";
import { type Attachment, AttachmentSchema } from "@protochat/sdk";
import type { Clients } from "../../api/clients.js";
import { loadSession } from "../../api/session.js";

export function currentToken(): string | undefined {
  return loadSession()?.token;
}

export interface UploadHandle {
  promise: Promise<Attachment>;
  cancel(): void;
}

/** Uploads one file; `onProgress` gets the fraction sent (0-1). */
export function startUpload(
  clients: Pick<Clients, "uploads">,
  file: File,
  onProgress: (fraction: number) => void,
  token: () => string | undefined = currentToken,
): UploadHandle {
  let xhr: XMLHttpRequest | undefined;
  let cancelled = false;
  const ac = new AbortController();
  const promise = (async () => {
    const created = await clients.uploads.createUpload(
      { name: file.name || "file", sizeBytes: BigInt(file.size), declaredType: file.type },
      { signal: ac.signal },
    );
    const path = created.upload?.uploadUrl;
    if (!path) throw new Error("the server returned no upload URL");
    if (cancelled) throw new Error("cancelled");
    return await new Promise<Attachment>((resolve, reject) => {
      const x = new XMLHttpRequest();
      xhr = x;
      x.open("PUT", new URL(path, globalThis.location.origin).toString());
      const t = token();
      if (t) x.setRequestHeader("Authorization", `Bearer ${t}`);
      x.upload.onprogress = (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
      };
      x.onload = () => {
        if (x.status >= 200 && x.status < 300) {
          try {
            onProgress(1);
            resolve(fromJson(AttachmentSchema, JSON.parse(x.responseText)));
          } catch (err) {
            reject(err);
          }
        } else {
          let message = `upload failed (HTTP ${x.status})`;
          try {
            message = (JSON.parse(x.responseText) as { message?: string }).message ?? message;
          } catch {
            // not JSON: keep the status
          }
          reject(new Error(message));
        }
      };
      x.onerror = () => reject(new Error("upload failed (network error)"));
      x.onabort = () => reject(new Error("cancelled"));
      x.send(file);
    });
  })();
  return {
    promise,
    cancel() {
      cancelled = true;
      ac.abort();
      xhr?.abort();
    },
  };
}

/** Fetches a file with the token. */
export async function fetchFile(
  path: string,
  signal?: AbortSignal,
  token: () => string | undefined = currentToken,
): Promise<Blob> {
  const t = token();
  const res = await fetch(new URL(path, globalThis.location.origin), {
    headers: t ? { Authorization: `Bearer ${t}` } : {},
    signal,
  });
  if (!res.ok) throw new Error(`download failed (HTTP ${res.status})`);
  return await res.blob();
}

/** Fetches a file with the token and returns a blob URL (revoke it when done). */
export async function fetchBlobUrl(path: string, signal?: AbortSignal): Promise<string> {
  return URL.createObjectURL(await fetchFile(path, signal));
}

/**
 * Fetches an image with the token as a data: URL: the page's
 * Content-Security-Policy allows images from 'self' and data: only (no
 * blob:), and a bearer token cannot go on an <img> request.
 */
export async function fetchImageUrl(path: string, signal?: AbortSignal): Promise<string> {
  const blob = await fetchFile(path, signal);
  return await new Promise<string>((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error("could not read the image"));
    r.readAsDataURL(blob);
  });
}

/** "1.2 MB". */
export function formatBytes(n: number | bigint): string {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let x = v / 1024;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x < 10 ? x.toFixed(1) : Math.round(x)} ${units[i]}`;
}
