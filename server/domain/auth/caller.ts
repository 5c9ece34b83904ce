/** Who makes a call: the account and session behind a valid access token. */

/** The authenticated account behind an RPC. */
export interface Caller {
  /** Id of the user the token belongs to. */
  userId: bigint;
  /** Id of the session (token) the call is made with. */
  sessionId: bigint;
  /** When the token expires; long-lived streams end then. */
  expiresAt?: Date;
}
