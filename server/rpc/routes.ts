/**
 * The RPC routes: which service implementation answers which part of the
 * contract. Kept apart from server.ts so tests can mount the same routes on
 * an in-memory transport.
 */
import type { DescFile } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "pino";
import { AdminService, file_chat_admin_v1_admin } from "../../gen/chat/admin/v1/admin_pb.js";
import { AuthService, file_chat_v1_auth } from "../../gen/chat/v1/auth_pb.js";
import { ConsentService, file_chat_v1_consent } from "../../gen/chat/v1/consent_pb.js";
import { file_chat_v1_errors } from "../../gen/chat/v1/errors_pb.js";
import { file_chat_v1_event } from "../../gen/chat/v1/event_pb.js";
import { FeedService, file_chat_v1_feed } from "../../gen/chat/v1/feed_pb.js";
import { file_chat_v1_message, MessageService } from "../../gen/chat/v1/message_pb.js";
import { file_chat_v1_moderation, ModerationService } from "../../gen/chat/v1/moderation_pb.js";
import { file_chat_v1_notice } from "../../gen/chat/v1/notice_pb.js";
import { file_chat_v1_pins, PinService } from "../../gen/chat/v1/pins_pb.js";
import { file_chat_v1_receipts, ReceiptService } from "../../gen/chat/v1/receipts_pb.js";
import { file_chat_v1_room, RoomService } from "../../gen/chat/v1/room_pb.js";
import { file_chat_v1_search, SearchService } from "../../gen/chat/v1/search_pb.js";
import { file_chat_v1_thread, ThreadService } from "../../gen/chat/v1/thread_pb.js";
import { file_chat_v1_upload, UploadService } from "../../gen/chat/v1/upload_pb.js";
import { file_chat_v1_user, UserService } from "../../gen/chat/v1/user_pb.js";
import { file_google_rpc_error_details } from "../../gen/google/rpc/error_details_pb.js";
import type { TokenService } from "../domain/auth/tokens.js";
import type { AddPolicyName } from "../domain/consent/consent.js";
import type { Uploads } from "../domain/files/uploads.js";
import type { LoginGuard } from "../domain/limits/login-guard.js";
import type { RateLimits } from "../domain/limits/rate-limits.js";
import type { RoomWriter } from "../domain/room-writer.js";
import { Threads } from "../domain/threads/threads.js";
import type { Clock } from "../platform/clock.js";
import type { FeedHub } from "../realtime/hub/feed-hub.js";
import type { TypingTracker } from "../realtime/presence/typing.js";
import type { FeedStreams } from "../realtime/session/feed-streams.js";
import type { PrismaClient } from "../store/prisma.js";
import { type HealthMonitor, registerHealth } from "./grpc/health.js";
import { registerReflection } from "./grpc/reflection.js";
import type { ErrorMasker } from "./interceptors/errors.js";
import { type AdminDeps, createAdminService } from "./services/admin-service.js";
import { createAuthService } from "./services/auth-service.js";
import { createConsentService } from "./services/consent-service.js";
import { createFeedService } from "./services/feed-service.js";
import { createMessageService } from "./services/message-service.js";
import { createModerationService } from "./services/moderation-service.js";
import { createPinService } from "./services/pin-service.js";
import { createReceiptService } from "./services/receipt-service.js";
import { createRoomService } from "./services/room-service.js";
import { createSearchService } from "./services/search-service.js";
import { createThreadService } from "./services/thread-service.js";
import { createUploadService } from "./services/upload-service.js";
import { createUserService } from "./services/user-service.js";

/** What the handlers need. */
export interface RouteDeps {
  prisma: PrismaClient;
  tokens: TokenService;
  /** Every room change goes through it (dense sequence, events). */
  writer: RoomWriter;
  clock: Clock;
  health: HealthMonitor;
  /** Live feeds of this process. */
  feed: FeedHub;
  /** Opens and starts feed streams (shared with the direct Subscribe path). */
  streams: FeedStreams;
  typing: TypingTracker;
  /** Aborted when the server starts shutting down; streams end on it. */
  shutdownSignal: AbortSignal;
  logger: Logger;
  /** What a client sees of a failure (interceptors/errors.ts). */
  mask: ErrorMasker;
  /** Throws Unavailable while the database is known down. */
  checkAvailable: () => void;
  /** Hosts avatar URLs may point at (server/domain/avatar-url.ts). */
  avatarHosts?: readonly string[];
  /** Rate limits of every service (domain/limits/). */
  limits: RateLimits;
  /** Login failures and lockouts. */
  loginGuard: LoginGuard;
  /** What AdminService needs beyond the above. */
  admin: Omit<AdminDeps, "prisma" | "writer" | "tokens" | "feed" | "clock">;
  /** Announced and stored files (domain/files/uploads.ts). */
  uploads: Uploads;
  /** Who may add users who never chose (DEFAULT_WHO_MAY_ADD). */
  defaultWhoMayAdd?: AddPolicyName;
}

/** Files of the public contract, served by reflection. */
export const contractFiles: readonly DescFile[] = [
  file_chat_v1_auth,
  file_chat_v1_user,
  file_chat_v1_room,
  file_chat_v1_message,
  file_chat_v1_event,
  file_chat_v1_feed,
  file_chat_v1_notice,
  file_chat_v1_upload,
  file_chat_v1_search,
  file_chat_v1_thread,
  file_chat_v1_receipts,
  file_chat_v1_pins,
  file_chat_v1_consent,
  file_chat_v1_moderation,
  file_chat_v1_errors,
  file_chat_admin_v1_admin,
  file_google_rpc_error_details,
];

/** Full names of our services, as reported by health and reflection. */
export const serviceNames: readonly string[] = [
  AuthService.typeName,
  UserService.typeName,
  RoomService.typeName,
  MessageService.typeName,
  FeedService.typeName,
  AdminService.typeName,
  UploadService.typeName,
  SearchService.typeName,
  ThreadService.typeName,
  ReceiptService.typeName,
  PinService.typeName,
  ConsentService.typeName,
  ModerationService.typeName,
];

/** Registers every service on a router. */
export function createRoutes(deps: RouteDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(AuthService, createAuthService(deps));
    router.service(UserService, createUserService(deps));
    router.service(RoomService, createRoomService(deps));
    const messages = createMessageService(deps);
    router.service(MessageService, messages);
    router.service(FeedService, createFeedService({ ...deps, messages }));
    router.service(AdminService, createAdminService({ ...deps, ...deps.admin }));
    router.service(UploadService, createUploadService(deps.uploads));
    router.service(SearchService, createSearchService(deps));
    router.service(ThreadService, createThreadService(new Threads(deps.prisma)));
    router.service(ReceiptService, createReceiptService(deps));
    router.service(PinService, createPinService(deps));
    router.service(ConsentService, createConsentService(deps));
    router.service(ModerationService, createModerationService(deps));
    registerHealth(router, deps.health, {
      services: [...serviceNames],
      shutdownSignal: deps.shutdownSignal,
    });
    registerReflection(router, contractFiles);
  };
}
