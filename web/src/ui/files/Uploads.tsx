/**
 * Files being attached to a message: the attach button, paste and drop
 * handlers, and the tray with a progress bar and cancel per file.
 */
import type { Attachment } from "@protochat/sdk";
import {
  type ClipboardEvent,
  type DragEvent,
  useCallback,
  useEffect,
  useRef,
  useState,
} from "react";
import { useClients } from "./context.js";
import { formatBytes, startUpload, type UploadHandle } from "./upload.js";

export interface UploadItem {
  key: number;
  name: string;
  size: number;
  progress: number;
  attachment?: Attachment;
  error?: string;
}

const MAX_FILES = 10;

export function useUploads() {
  const clients = useClients();
  const [items, setItems] = useState<UploadItem[]>([]);
  const handles = useRef(new Map<number, UploadHandle>());
  const next = useRef(1);

  useEffect(() => {
    const h = handles.current;
    return () => {
      for (const x of h.values()) x.cancel();
    };
  }, []);

  const patch = useCallback((key: number, p: Partial<UploadItem>) => {
    setItems((list) => list.map((i) => (i.key === key ? { ...i, ...p } : i)));
  }, []);

  const add = useCallback(
    (files: Iterable<File>) => {
      for (const file of files) {
        const key = next.current++;
        setItems((list) =>
          list.length >= MAX_FILES
            ? list
            : [...list, { key, name: file.name || "file", size: file.size, progress: 0 }],
        );
        const h = startUpload(clients, file, (progress) => patch(key, { progress }));
        handles.current.set(key, h);
        h.promise.then(
          (attachment) => patch(key, { attachment, progress: 1 }),
          (err: unknown) => {
            if (err instanceof Error && err.message === "cancelled") return;
            patch(key, { error: err instanceof Error ? err.message : String(err) });
          },
        );
      }
    },
    [clients, patch],
  );

  const remove = useCallback((key: number) => {
    handles.current.get(key)?.cancel();
    handles.current.delete(key);
    setItems((list) => list.filter((i) => i.key !== key));
  }, []);

  const clear = useCallback(() => {
    handles.current.clear();
    setItems([]);
  }, []);

  const ids = items.flatMap((i) => (i.attachment ? [i.attachment.id] : []));
  const busy = items.some((i) => !i.attachment && !i.error);
  return { items, add, remove, clear, ids, busy };
}

export type Uploads = ReturnType<typeof useUploads>;

/** Paste and drop handlers that feed files into the uploads. */
export function fileHandlers(u: Uploads, disabled?: boolean) {
  return {
    onPaste(e: ClipboardEvent) {
      if (disabled) return;
      const files = [...e.clipboardData.files];
      if (files.length > 0) {
        e.preventDefault();
        u.add(files);
      }
    },
    onDragOver(e: DragEvent) {
      if (!disabled && e.dataTransfer.types.includes("Files")) e.preventDefault();
    },
    onDrop(e: DragEvent) {
      if (disabled || e.dataTransfer.files.length === 0) return;
      e.preventDefault();
      u.add([...e.dataTransfer.files]);
    },
  };
}

export function AttachButton({ uploads, disabled }: { uploads: Uploads; disabled?: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="file-input"
        onChange={(e) => {
          if (e.target.files) uploads.add([...e.target.files]);
          e.target.value = "";
        }}
      />
      <button
        type="button"
        className="icon-button attach"
        aria-label="Attach files"
        title="Attach files"
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        📎
      </button>
    </>
  );
}

export function UploadTray({ uploads }: { uploads: Uploads }) {
  if (uploads.items.length === 0) return null;
  return (
    <ul className="upload-tray" aria-label="Attachments">
      {uploads.items.map((i) => (
        <li
          key={i.key}
          className={`upload-item ${i.error ? "failed" : ""}`}
          data-testid="upload-item"
          data-state={i.error ? "failed" : i.attachment ? "ready" : "uploading"}
        >
          <span className="upload-name" title={i.name}>
            {i.name}
          </span>
          <span className="muted small">{formatBytes(i.size)}</span>
          {i.error ? (
            <span className="error small">{i.error}</span>
          ) : (
            <progress
              max={1}
              value={i.progress}
              aria-label={`Uploading ${i.name}`}
              className="upload-progress"
            />
          )}
          <button
            type="button"
            className="icon-button"
            aria-label={i.attachment || i.error ? `Remove ${i.name}` : `Cancel upload of ${i.name}`}
            onClick={() => uploads.remove(i.key)}
          >
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
