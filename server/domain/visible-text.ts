/**
 * Names and texts people can see. A name made only of invisible characters
 * (zero-width spaces, the Hangul filler, braille blanks, lone combining or
 * variation marks) shows as nothing, and bidi override or isolate
 * characters in a name can make it read as someone else's or reverse the
 * text around it ("moc.knab" shown as "bank.com"); both are refused with a
 * field violation. Texts may use bidi controls (right-to-left writing needs
 * them) but must show something.
 */
import type { FieldViolation } from "../platform/errors.js";

/** Characters that draw nothing: format (Cf), separators, fillers, marks on nothing. */
const invisible =
  /[\p{Cf}\p{Z}\s\u115F\u1160\u3164\uFFA0\u2800]|\u034F|\p{Variation_Selector}|[\u180B-\u180D\u180F]/gu;

/** Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069). */
const bidiControl = /[\u202A-\u202E\u2066-\u2069]/;

/** True when `s` is empty once invisible characters and marks with nothing to mark are removed. */
export function isInvisible(s: string): boolean {
  const rest = s.replace(invisible, "");
  return rest === "" || /^\p{M}+$/u.test(rest);
}

/**
 * The violation of a display or room name (`field`), or undefined. Empty
 * names pass (they mean "none"); callers check blank where it matters.
 */
export function nameProblem(name: string, field: string): FieldViolation | undefined {
  if (bidiControl.test(name)) {
    return { field, description: "must not contain bidi override or isolate characters" };
  }
  if (name !== "" && isInvisible(name)) {
    return { field, description: "must contain visible characters" };
  }
  return undefined;
}

/** The violation of a text that must show something (messages, descriptions), or undefined. */
export function textProblem(text: string, field: string): FieldViolation | undefined {
  if (text !== "" && isInvisible(text)) {
    return { field, description: "must contain visible characters" };
  }
  return undefined;
}
