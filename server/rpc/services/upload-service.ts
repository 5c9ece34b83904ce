/** chat.v1.UploadService: announcing files; their bytes come by `PUT` (rpc/files/upload-route.ts). */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  CreateUploadResponseSchema,
  GetUploadResponseSchema,
  UploadLimitsSchema,
  type UploadService,
} from "../../../gen/chat/v1/upload_pb.js";
import { toUpload } from "../../domain/files/upload-view.js";
import type { Uploads } from "../../domain/files/uploads.js";
import { invalidArgument } from "../../platform/errors.js";
import { callerOf } from "../context.js";
import { badCharacters } from "./messages/shared.js";

/** Creates the UploadService implementation. */
export function createUploadService(uploads: Uploads): ServiceImpl<typeof UploadService> {
  return {
    async createUpload(req, ctx) {
      const bad = badCharacters(req.name) ?? badCharacters(req.declaredType);
      if (bad)
        throw invalidArgument([
          { field: badCharacters(req.name) ? "name" : "declared_type", description: bad },
        ]);
      const { row, usedBytes } = await uploads.create(callerOf(ctx).userId, req);
      const { limits } = uploads;
      return create(CreateUploadResponseSchema, {
        upload: toUpload(row),
        limits: create(UploadLimitsSchema, {
          maxFileBytes: BigInt(limits.maxFileBytes),
          maxUserBytes: BigInt(limits.maxUserBytes),
          usedUserBytes: usedBytes,
          maxImagePixels: BigInt(limits.maxImagePixels),
        }),
      });
    },
    async getUpload(req, ctx) {
      const row = await uploads.ownUpload(callerOf(ctx).userId, req.uploadId);
      return create(GetUploadResponseSchema, { upload: toUpload(row) });
    },
  };
}
