/**
 * Where the access token comes from: a fixed `token`, a `getToken`
 * function (asked once, then again only after the server refused the
 * token), or what `login()` returned. The token is read for every call, so
 * a refreshed token takes effect at once.
 */

/**
 * Supplies an access token. `rejected` is the token the server last
 * refused with UNAUTHENTICATED (undefined on the first call): return a
 * different one (e.g. log in again), or undefined to give up.
 */
export type TokenProvider = (context: {
  rejected: string | undefined;
}) => string | undefined | Promise<string | undefined>;

/** The client's current token and how to get a new one. */
export class TokenSource {
  private current: string | undefined;
  private lastRejected: string | undefined;
  private asking: Promise<string | undefined> | undefined;

  constructor(
    token: string | undefined,
    private readonly provider: TokenProvider | undefined,
  ) {
    this.current = token;
  }

  /** Whether a refused token can be replaced by asking `getToken` again. */
  get refreshable(): boolean {
    return this.provider !== undefined;
  }

  /** The token refused last, if any. */
  get rejected(): string | undefined {
    return this.lastRejected;
  }

  /** The token to send now; asks the provider when there is none. */
  async get(): Promise<string | undefined> {
    if (this.current !== undefined || !this.provider) return this.current;
    // One question at a time: concurrent calls share the answer.
    this.asking ??= (async () => {
      try {
        const provider = this.provider;
        const token = provider ? await provider({ rejected: this.lastRejected }) : undefined;
        this.current = token || undefined;
        return this.current;
      } finally {
        this.asking = undefined;
      }
    })();
    return this.asking;
  }

  /** Replaces the token (e.g. after login); undefined forgets it. */
  set(token: string | undefined): void {
    this.current = token || undefined;
  }

  /**
   * The server refused `token` (UNAUTHENTICATED). Unless the token changed
   * meanwhile, it is dropped and the next get() asks the provider.
   */
  reject(token: string): void {
    this.lastRejected = token;
    if (this.current === token) this.current = undefined;
  }
}
