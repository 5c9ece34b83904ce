/** Row shapes shared by raw statements and Prisma selects. */
import type { $Enums } from "../prisma.js";

/** A membership row as checks need it. */
export interface MembershipRow {
  role: $Enums.MemberRole;
  state: $Enums.MembershipState;
  lastReadSeq: bigint;
  joinedAt: Date;
}

/** The message a reply points at, as its preview needs it. */
export interface ReplyParentRow {
  id: bigint;
  seq: bigint;
  senderId: bigint | null;
  text: string;
  deletedAt: Date | null;
}
