/**
 * The plain-HTTP side of files, on the same port as the RPCs: `PUT
 * /uploads/<id>` (upload-route.ts) and `GET|HEAD /files/<id>[/thumbnail]`
 * (download-route.ts). Plain HTTP because every client can do it (a
 * browser's fetch with progress, `curl -T`), and a file never passes
 * through a protobuf message or the RPC size limits.
 */
import type { DownloadRouteDeps } from "./download-route.js";
import { handleDownload } from "./download-route.js";
import type { Req, Res } from "./http-answers.js";
import { handleUpload, type UploadRouteDeps } from "./upload-route.js";

/** What the routes need. */
export type FileRouteDeps = UploadRouteDeps & DownloadRouteDeps;

const uploadPath = /^\/uploads\/([1-9]\d{0,18})$/;
const filePath = /^\/files\/([1-9]\d{0,18})(\/thumbnail)?$/;

/**
 * Takes the request when it is one of ours: true when handled (the answer
 * is written asynchronously), false to pass it on.
 */
export function fileRoutes(deps: FileRouteDeps): (req: Req, res: Res) => boolean {
  return (req, res) => {
    const url = req.url ?? "";
    if (!url.startsWith("/uploads/") && !url.startsWith("/files/")) return false;
    const path = url.split("?")[0] ?? "";
    const up = uploadPath.exec(path);
    if (up && req.method === "PUT") {
      void handleUpload(deps, req, res, BigInt(up[1] as string)).catch((err: unknown) => {
        deps.logger.error({ err }, "upload route failed");
      });
      return true;
    }
    const down = filePath.exec(path);
    if (down && (req.method === "GET" || req.method === "HEAD")) {
      void handleDownload(deps, req, res, BigInt(down[1] as string), down[2] !== undefined).catch(
        (err: unknown) => {
          deps.logger.error({ err }, "download route failed");
        },
      );
      return true;
    }
    return false;
  };
}
