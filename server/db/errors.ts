/** Recognising database errors that map to client errors. */

/**
 * True for a unique-constraint violation (Prisma P2002). Checked by shape, as
 * the error class lives in the generated client's runtime.
 */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";
}
