/** What the limit tests share: low rates, and reading RESOURCE_EXHAUSTED with its RetryInfo. */
import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { RateLimitConfig } from "../../server/config.js";
import { defaultRateLimitConfig } from "../../server/domain/limits/rate-limits.js";
import { reasonOf } from "../support/errors.js";

/** Ten minutes: no window ends during a test, so nothing depends on timing. */
const window = 600;

/** Limits low enough to hit in a few calls, each in a long window. */
export function lowLimits(over: Partial<RateLimitConfig["rates"]> = {}): Partial<RateLimitConfig> {
  const r = (points: number) => ({ points, seconds: window });
  return {
    ...defaultRateLimitConfig,
    enabled: true,
    rates: {
      ...defaultRateLimitConfig.rates,
      sendBurst: r(3),
      sendSustained: r(1_000),
      reactions: r(1_000),
      typing: r(3),
      roomCreates: r(3),
      invitations: r(4),
      subscribes: r(2),
      userSearches: r(2),
      // In-process transports have no address: every registration there shares one key.
      registrations: r(100_000),
      loginFailuresPerAccountAddress: r(3),
      loginFailuresPerAddress: r(5),
      loginFailuresPerAccount: r(4),
      ...over,
    },
    reactionsPerMessage: 3,
  };
}

/** The RetryInfo delay of an error, in milliseconds (undefined without one). */
export function retryDelayMs(err: ConnectError): number | undefined {
  const d = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return d ? Number(d.seconds) * 1000 + d.nanos / 1e6 : undefined;
}

/** Expects a rate-limit refusal: RESOURCE_EXHAUSTED, RATE_LIMITED, RetryInfo within (0, maxMs]. */
export async function expectLimited(p: Promise<unknown>, maxMs = window * 1000): Promise<number> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, "expected the call to be refused").toBeDefined();
  const ce = ConnectError.from(err);
  expect(Code[ce.code], ce.message).toBe(Code[Code.ResourceExhausted]);
  expect(reasonOf(ce)).toBe("RATE_LIMITED");
  const ms = retryDelayMs(ce);
  expect(ms).toBeGreaterThan(0);
  expect(ms).toBeLessThanOrEqual(maxMs);
  return ms as number;
}
