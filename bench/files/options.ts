/**
 * Command-line options of `npm run bench -- files`.
 */
import {
  int,
  pairs,
  parseOptions,
  recordOptions,
  serverEnvironment,
  usage,
} from "../lib/options.js";

/** A validated files run. */
export interface FilesOptions {
  /** Files uploaded in the throughput part. */
  files: number;
  /** Size of each, KiB. */
  fileKiB: number;
  /** Uploads in flight at once. */
  concurrency: number;
  /** Feeds following the room in the fan-out part. */
  subscribers: number;
  /** Messages sent with one attachment each in the fan-out part. */
  sends: number;
  /** Server environment over the defaults. */
  env: Record<string, string>;
  save: boolean;
  note: string;
}

const command = {
  name: "bench -- files",
  options: {
    files: int(40, 1, 10_000, "files uploaded in the throughput part"),
    "file-kib": int(4096, 1, 1_000_000, "size of each file, KiB"),
    concurrency: int(4, 1, 256, "uploads in flight at once"),
    subscribers: int(100, 1, 10_000, "feeds following the room in the fan-out part"),
    sends: int(200, 1, 100_000, "messages with one attachment each, in the fan-out part"),
    env: pairs("server environment (e.g. UPLOAD_MAX_FILE_BYTES=...), repeatable"),
    ...recordOptions("files"),
  },
  notes: serverEnvironment,
};

/** Usage text. */
export const filesUsage = usage(command);

/** Parses `argv` (the arguments after "files"). */
export function parseFilesOptions(argv: string[]): FilesOptions {
  const v = parseOptions(argv, command);
  return {
    files: v.files,
    fileKiB: v["file-kib"],
    concurrency: v.concurrency,
    subscribers: v.subscribers,
    sends: v.sends,
    env: v.env,
    save: !v["no-save"],
    note: v.note,
  };
}
