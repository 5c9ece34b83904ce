/**
 * What a new password must be: at least PASSWORD_MIN_LENGTH characters, not
 * one of the commonest passwords, and not the username. The first guesses
 * of every attacker fail, whatever the login limits allow.
 */
import { defaults } from "../../config.js";
import type { FieldViolation } from "../../platform/errors.js";
import { commonPasswords } from "./common-passwords.js";

/** Shortest password accepted (config PASSWORD_MIN_LENGTH). */
export const defaultPasswordMinLength = defaults.rateLimits.passwordMinLength;

/** The violation of `password` (field `password`), or undefined when it may be used. */
export function passwordProblem(
  password: string,
  username: string,
  minLength = defaultPasswordMinLength,
): FieldViolation | undefined {
  const length = [...password].length;
  if (length < minLength) {
    return { field: "password", description: `must be at least ${minLength} characters` };
  }
  const lower = password.toLowerCase();
  if (commonPasswords.has(lower)) {
    return {
      field: "password",
      description: "is one of the most common passwords: choose another",
    };
  }
  if (lower === username.toLowerCase()) {
    return { field: "password", description: "must not be the username" };
  }
  return undefined;
}
