/**
 * A message's files: images as thumbnails (fetched with the token, shown
 * from blob URLs) that open full size on click, other files as cards with
 * name, size and a download button. Images are shown from data: URLs, as
 * the page's Content-Security-Policy allows (img-src 'self' data:); the
 * download button saves a blob URL (a download, not an image).
 */
import type { Attachment } from "@protochat/sdk";
import { useEffect, useState } from "react";
import { Dialog } from "../Dialog.js";
import "./files.css";
import { fetchBlobUrl, fetchImageUrl, formatBytes } from "./upload.js";

/** An image at `path`, fetched with the token, as a URL the page may show. */
export function useImageUrl(path: string | undefined): { url?: string; error?: string } {
  const [state, setState] = useState<{ url?: string; error?: string }>({});
  useEffect(() => {
    if (!path) return;
    const ac = new AbortController();
    fetchImageUrl(path, ac.signal).then(
      (u) => {
        if (!ac.signal.aborted) setState({ url: u });
      },
      (err: unknown) => {
        if (!ac.signal.aborted) setState({ error: err instanceof Error ? err.message : "error" });
      },
    );
    return () => ac.abort();
  }, [path]);
  return state;
}

function placeholderUrl(a: Attachment): string | undefined {
  const p = a.image?.placeholder;
  if (!p || p.length === 0) return undefined;
  let s = "";
  for (const b of p) s += String.fromCharCode(b);
  return `data:image/webp;base64,${btoa(s)}`;
}

/** Fits width x height into a box of at most `max` pixels. */
export function fitSize(width: number, height: number, max = 320): { w: number; h: number } {
  if (!width || !height) return { w: max, h: max };
  const k = Math.min(1, max / Math.max(width, height));
  return { w: Math.round(width * k), h: Math.round(height * k) };
}

function ImageAttachment({ a }: { a: Attachment }) {
  const thumb = useImageUrl(a.image?.thumbnailUrl || a.url);
  const [open, setOpen] = useState(false);
  const { w, h } = fitSize(a.image?.width ?? 0, a.image?.height ?? 0);
  const ph = placeholderUrl(a);
  return (
    <>
      <button
        type="button"
        className="attachment-image"
        aria-label={`Open image ${a.name}`}
        title={a.name}
        style={{
          width: w,
          aspectRatio: `${w} / ${h}`,
          backgroundImage: ph && !thumb.url ? `url(${ph})` : undefined,
        }}
        onClick={() => setOpen(true)}
      >
        {thumb.url ? (
          <img src={thumb.url} alt={a.name} data-testid="attachment-thumbnail" />
        ) : (
          <span className="muted small">{thumb.error ?? "Loading…"}</span>
        )}
      </button>
      {open && <ImageViewer a={a} onClose={() => setOpen(false)} />}
    </>
  );
}

function ImageViewer({ a, onClose }: { a: Attachment; onClose: () => void }) {
  const full = useImageUrl(a.url);
  return (
    <Dialog title={a.name} onClose={onClose} className="image-viewer">
      {full.url ? (
        <img src={full.url} alt={a.name} className="full-image" data-testid="full-image" />
      ) : (
        <p className="muted">{full.error ?? "Loading…"}</p>
      )}
      <p className="muted small">
        {a.image ? `${a.image.width}×${a.image.height} · ` : ""}
        {formatBytes(a.sizeBytes)} <DownloadButton a={a} />
      </p>
    </Dialog>
  );
}

function DownloadButton({ a }: { a: Attachment }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  async function download() {
    setBusy(true);
    setError(undefined);
    try {
      const url = await fetchBlobUrl(a.url);
      const link = document.createElement("a");
      link.href = url;
      link.download = a.name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setError(err instanceof Error ? err.message : "download failed");
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <button
        type="button"
        className="link-button"
        disabled={busy}
        aria-label={`Download ${a.name}`}
        onClick={() => void download()}
      >
        {busy ? "Downloading…" : "Download"}
      </button>
      {error && <span className="error small"> {error}</span>}
    </>
  );
}

function FileCard({ a }: { a: Attachment }) {
  return (
    <div className="file-card" data-testid="file-card">
      <span className="file-icon" aria-hidden="true">
        📄
      </span>
      <span className="file-meta">
        <span className="file-name" title={a.name}>
          {a.name}
        </span>
        <span className="muted small">
          {formatBytes(a.sizeBytes)}
          {a.contentType ? ` · ${a.contentType}` : ""}
        </span>
      </span>
      <DownloadButton a={a} />
    </div>
  );
}

export function MessageAttachments({ attachments }: { attachments: Attachment[] }) {
  if (attachments.length === 0) return null;
  return (
    <ul className="attachments" aria-label="Attachments" data-testid="attachments">
      {attachments.map((a) => (
        <li key={a.id.toString()}>{a.image ? <ImageAttachment a={a} /> : <FileCard a={a} />}</li>
      ))}
    </ul>
  );
}
