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
 */
import type { RateDecision } from "../../platform/rate-limiter.js";
import { limitError, type RateLimits } from "./rate-limits.js";

/** Checks and counts login attempts for one (account, address) pair. */
export class LoginGuard {
  constructor(private readonly limits: RateLimits) {}

  private key(account: string, address: string): string {
    return `${account}|${address}`;
  }

  /** Throws RESOURCE_EXHAUSTED (RetryInfo) when this attempt may not even be checked. */
  async before(account: string, address: string): Promise<void> {
    const l = this.limits;
    if (!l.enabled) return;
    const pair = this.key(account, address);
    const [atPair, atAddress, atAccount, known] = await Promise.all([
      l.limiter("loginFailuresPerAccountAddress").peek(pair),
      l.limiter("loginFailuresPerAddress").peek(address),
      l.limiter("loginFailuresPerAccount").peek(account),
      this.knownLimiter().peek(pair),
    ]);
    const refuse = (d: RateDecision) => (d.allowed ? 0 : d.retryAfterMs);
    if (refuse(atPair)) throw limitError("loginFailuresPerAccountAddress", refuse(atPair));
    if (refuse(atAddress)) throw limitError("loginFailuresPerAddress", refuse(atAddress));
    if (known.consumed === 0 && refuse(atAccount)) {
      throw limitError("loginFailuresPerAccount", refuse(atAccount));
    }
  }

  /** Counts a failed attempt; locks the pair out once its failures are used up. */
  async failed(account: string, address: string): Promise<void> {
    const l = this.limits;
    if (!l.enabled) return;
    const pair = this.key(account, address);
    const [atPair] = await Promise.all([
      l.limiter("loginFailuresPerAccountAddress").consume(pair),
      l.limiter("loginFailuresPerAddress").consume(address),
      l.limiter("loginFailuresPerAccount").consume(account),
    ]);
    const max = l.config.rates.loginFailuresPerAccountAddress.points;
    if (atPair.consumed >= max) {
      // The n-th lockout of this pair within a day lasts base * 2^(n-1).
      const strikes = await this.strikeLimiter().consume(pair);
      const { loginLockoutSeconds: base, loginLockoutMaxSeconds: cap } = l.config;
      const seconds = Math.min(cap, base * 2 ** Math.min(30, Math.max(0, strikes.consumed - 1)));
      await l.limiter("loginFailuresPerAccountAddress").block(pair, seconds);
    }
  }

  /** A successful login: the pair's failures are forgotten and the address becomes known. */
  async succeeded(account: string, address: string): Promise<void> {
    const l = this.limits;
    if (!l.enabled) return;
    const pair = this.key(account, address);
    await Promise.all([
      l.limiter("loginFailuresPerAccountAddress").reset(pair),
      this.strikeLimiter().reset(pair),
      this.knownLimiter()
        .reset(pair)
        .then(() => this.knownLimiter().consume(pair)),
    ]);
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
