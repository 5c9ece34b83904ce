/**
 * The users with open feeds in this process: their sessions, and one
 * subscription per user to the user's bus channel (membership changes,
 * read markers of other devices, revocations), routed to their sessions.
 */
import { Code } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ErrorReason } from "../../../gen/chat/v1/errors_pb.js";
import { chatError } from "../../platform/errors.js";
import type { PrismaClient } from "../../store/prisma.js";
import type { Broker } from "../bus/broker.js";
import { channels, decodeBus } from "../bus/bus-format.js";
import { frame } from "../frames.js";
import type { FeedSession } from "../session/feed-session.js";

/** Local sessions of one user and their user-channel subscription. */
interface UserEntry {
  sessions: Set<FeedSession>;
  ready: Promise<void>;
  unsubscribe?: () => void;
}

/** Sessions per user and the user channels they need. */
export class UserChannels {
  private readonly users = new Map<bigint, UserEntry>();

  constructor(
    private readonly broker: Broker,
    private readonly prisma: PrismaClient,
    private readonly logger: Logger,
    private readonly newSession: (userId: bigint, sessionId: bigint) => FeedSession,
  ) {}

  /** Users with an open feed in this process. */
  get userCount(): number {
    return this.users.size;
  }

  /** Number of open feeds of a user in this process. */
  localStreams(userId: bigint): number {
    return this.users.get(userId)?.sessions.size ?? 0;
  }

  /**
   * Registers a new session and waits until its user channel is live, so
   * membership changes committed from now on reach it.
   */
  async open(userId: bigint, sessionId: bigint): Promise<FeedSession> {
    const session = this.newSession(userId, sessionId);
    let entry = this.users.get(userId);
    if (!entry) {
      const created: UserEntry = { sessions: new Set(), ready: Promise.resolve() };
      created.ready = this.broker
        .subscribe(channels.user(userId), (bytes) => this.onUserMessage(userId, bytes))
        .then((unsubscribe) => {
          created.unsubscribe = unsubscribe;
          if (created.sessions.size === 0 && this.users.get(userId) !== created) unsubscribe();
        });
      entry = created;
      this.users.set(userId, entry);
    }
    entry.sessions.add(session);
    try {
      await entry.ready;
    } catch (err) {
      // The failed subscription is not kept for the next open: the entry
      // goes (with every session that waited on it) and the next attempt
      // subscribes afresh.
      if (this.users.get(userId) === entry) this.users.delete(userId);
      entry.sessions.delete(session);
      session.close();
      throw err;
    }
    return session;
  }

  /** Unregisters a session and releases what only it used. */
  close(session: FeedSession): void {
    session.close();
    const entry = this.users.get(session.userId);
    if (!entry?.sessions.delete(session) || entry.sessions.size > 0) return;
    this.users.delete(session.userId);
    entry.unsubscribe?.();
  }

  /** Every local session (for shutdown). */
  *sessions(): Iterable<FeedSession> {
    for (const entry of this.users.values()) yield* entry.sessions;
  }

  private onUserMessage(userId: bigint, bytes: Uint8Array): void {
    const entry = this.users.get(userId);
    if (!entry) return;
    const msg = decodeBus(bytes);
    const p = msg.payload;
    for (const session of entry.sessions) {
      switch (p.case) {
        case "membership":
          session.onMembership(p.value.roomId, p.value.joined, p.value.seq);
          break;
        case "readMarker":
          session.push(frame({ case: "readMarker", value: p.value }));
          break;
        case "userNotice":
          session.push(frame({ case: "notice", value: p.value }));
          break;
        case "sessionsRevoked":
          if (p.value.all || p.value.sessionIds.includes(session.sessionId)) {
            session.fail(revoked());
          }
          break;
        default:
          break;
      }
    }
  }

  /** Ends local feeds whose session was revoked or expired; see {@link HubOptions.sessionCheckMs}. */
  async checkSessions(): Promise<void> {
    const bySession = new Map<bigint, FeedSession[]>();
    for (const entry of this.users.values()) {
      for (const s of entry.sessions) {
        const list = bySession.get(s.sessionId);
        if (list) list.push(s);
        else bySession.set(s.sessionId, [s]);
      }
    }
    const ids = [...bySession.keys()];
    try {
      for (let i = 0; i < ids.length; i += 1_000) {
        const rows = await this.prisma.session.findMany({
          where: {
            id: { in: ids.slice(i, i + 1_000) },
            OR: [{ revokedAt: { not: null } }, { expiresAt: { lte: new Date() } }],
          },
          select: { id: true },
        });
        for (const r of rows) for (const s of bySession.get(r.id) ?? []) s.fail(revoked());
      }
    } catch (err) {
      this.logger.debug({ err }, "session check failed");
    }
  }

  /**
   * Rooms the user joined while the notice was lost start on their feeds;
   * rooms they left end through the room's own stream (FeedSession).
   */
  async checkMemberships(): Promise<void> {
    const userIds = [...this.users.keys()];
    try {
      for (let i = 0; i < userIds.length; i += 1_000) {
        const rows = await this.prisma.membership.findMany({
          where: { userId: { in: userIds.slice(i, i + 1_000) }, state: "JOINED" },
          select: { userId: true, roomId: true, joinedSeq: true },
        });
        for (const r of rows) {
          for (const s of this.users.get(r.userId)?.sessions ?? []) {
            if (s.subscribed && !s.ended && !s.cursors.has(r.roomId)) {
              s.onMembership(r.roomId, true, r.joinedSeq);
            }
          }
        }
      }
    } catch (err) {
      this.logger.warn({ err }, "membership check after a bus outage failed");
    }
  }
}

function revoked() {
  return chatError(
    Code.Unauthenticated,
    "the access token was revoked: log in again",
    ErrorReason.TOKEN_INVALID,
  );
}
