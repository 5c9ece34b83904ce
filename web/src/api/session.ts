/**
 * The signed-in session: the access token and the user, kept in
 * localStorage so a reload stays signed in. Everything else about the
 * session lives on the server.
 */
import { fromJsonString, toJsonString } from "@bufbuild/protobuf";
import { type User, UserSchema } from "@protochat/sdk";

const TOKEN_KEY = "protochat.token";
const USER_KEY = "protochat.user";

export interface StoredSession {
  token: string;
  user: User | undefined;
}

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined; // privacy mode, sandboxed iframe
  }
}

export function loadSession(): StoredSession | undefined {
  const s = storage();
  const token = s?.getItem(TOKEN_KEY);
  if (!token) return undefined;
  let user: User | undefined;
  const raw = s?.getItem(USER_KEY);
  if (raw) {
    try {
      user = fromJsonString(UserSchema, raw);
    } catch {
      user = undefined;
    }
  }
  return { token, user };
}

export function saveSession(token: string, user: User | undefined): void {
  const s = storage();
  s?.setItem(TOKEN_KEY, token);
  if (user) s?.setItem(USER_KEY, toJsonString(UserSchema, user));
}

export function clearSession(): void {
  const s = storage();
  s?.removeItem(TOKEN_KEY);
  s?.removeItem(USER_KEY);
}
