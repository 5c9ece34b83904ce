/**
 * Password guessing, answered without letting an attacker lock the real
 * user out for good (docs/limits.md, "Logins"):
 * - per account and address: a few failures, then a lockout there that
 *   doubles with each repeat (LOGIN_LOCKOUT_SECONDS up to
 *   LOGIN_LOCKOUT_MAX_SECONDS). Keyed by both, so an attacker elsewhere
 *   never locks the user's own address;
 * - per address, whatever the account: stops one address spraying many
 *   accounts;
 * - per account, from all addresses (looser): stops a guessing botnet. Only
 *   addresses that never logged in to the account are refused by it, so
 *   the user's usual devices keep working through such an attack.
 * A refused attempt is refused before the password is hashed, so a flood of
 * guesses costs no argon2 time. Unknown usernames are counted alike: the
 * answers do not tell which accounts exist.
 *
 * Each attempt takes its point before the password is checked (one atomic
 * consume per counter) and gets it back if the password was right:
 * counting only after the check would let every guess in flight pass the
 * check before the first failure is counted, so an attacker with 1,000
 * guesses in flight would get 1,000 checked.
 */
import type { RateDecision } from "../../platform/rate-limiter.js";
import { limitError, type RateLimits } from "./rate-limits.js";

/** One admitted login attempt: say how it ended. */
export interface LoginAttempt {
  /** The password was wrong (or the account unknown): the point stays; a lockout when it was the last. */
  failed(): Promise<void>;
  /** The password was right: the points come back, the pair's failures are forgotten, the address becomes known. */
  succeeded(): Promise<void>;
}

const nothing: LoginAttempt = { failed: async () => {}, succeeded: async () => {} };

/** Admits and counts login attempts per (account, address) pair, address and account. */
export class LoginGuard {
  constructor(private readonly limits: RateLimits) {}

  private key(account: string, address: string): string {
    return `${account}|${address}`;
  }

  /**
   * Admits one attempt, taking its points; throws RESOURCE_EXHAUSTED
   * (RetryInfo) when the attempt may not even be checked.
   */
  async begin(account: string, address: string): Promise<LoginAttempt> {
    const l = this.limits;
    if (!l.enabled) return nothing;
    const pair = this.key(account, address);
    const pairs = l.limiter("loginFailuresPerAccountAddress");
    const addresses = l.limiter("loginFailuresPerAddress");
    const accounts = l.limiter("loginFailuresPerAccount");
    const known = (await this.knownLimiter().peek(pair)).consumed > 0;
    const refused = (d: RateDecision) => (d.allowed ? 0 : d.retryAfterMs);
    const atPair = await pairs.consume(pair);
    if (refused(atPair)) throw limitError("loginFailuresPerAccountAddress", refused(atPair));
    const atAddress = await addresses.consume(address);
    if (refused(atAddress)) {
      await pairs.refund(pair);
      throw limitError("loginFailuresPerAddress", refused(atAddress));
    }
    const atAccount = await accounts.consume(account);
    if (refused(atAccount) && !known) {
      await Promise.all([pairs.refund(pair), addresses.refund(address)]);
      throw limitError("loginFailuresPerAccount", refused(atAccount));
    }
    return {
      failed: async () => {
        const max = l.config.rates.loginFailuresPerAccountAddress.points;
        if (atPair.consumed < max) return;
        // The n-th lockout of this pair within a day lasts base * 2^(n-1).
        const strikes = await this.strikeLimiter().consume(pair);
        const { loginLockoutSeconds: base, loginLockoutMaxSeconds: cap } = l.config;
        const seconds = Math.min(cap, base * 2 ** Math.min(30, Math.max(0, strikes.consumed - 1)));
        await pairs.block(pair, seconds);
      },
      succeeded: async () => {
        await Promise.all([
          pairs.reset(pair),
          addresses.refund(address),
          accounts.refund(account),
          this.strikeLimiter().reset(pair),
          this.knownLimiter()
            .reset(pair)
            .then(() => this.knownLimiter().consume(pair)),
        ]);
      },
    };
  }

  /** Lockouts of a pair within the last day (they grow with each). */
  private strikeLimiter() {
    return this.limits.extra("loginLockouts", { points: 1_000_000, seconds: 86_400 });
  }

  /** Pairs that logged in successfully, remembered for LOGIN_KNOWN_ADDRESS_DAYS. */
  private knownLimiter() {
    const days = this.limits.config.knownAddressDays;
    return this.limits.extra("loginKnownAddresses", { points: 1_000_000, seconds: days * 86_400 });
  }
}
