/**
 * Client message ids: 128 random bits as 32 hex characters, which fits the
 * contract's `^[A-Za-z0-9_-]{1,64}$`. crypto.getRandomValues works in
 * browsers on plain http too, where crypto.randomUUID does not exist.
 */

/** A new random client message id. */
export function newClientMsgId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}
