/**
 * The signed-in session: the access token and the user, kept in
 * sessionStorage: a reload stays signed in, but the token lives only as
 * long as the tab, is not shared with other tabs, and is not left on the
 * disk for weeks (localStorage would keep a 30-day token on a shared
 * computer after the tab is closed). Script on the page can read either
 * storage, so the Content-Security-Policy (no inline or foreign script) is
 * what keeps it from other code; an HttpOnly cookie is not an option for a
 * bearer-token API. Everything else about the session lives on the server.
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
    return globalThis.sessionStorage;
  } catch {
    return undefined; // privacy mode, sandboxed iframe
  }
}

/** Removes a token that earlier versions kept in localStorage, so none is left on disk. */
function forgetLegacy(): void {
  try {
    globalThis.localStorage?.removeItem(TOKEN_KEY);
    globalThis.localStorage?.removeItem(USER_KEY);
  } catch {
    // no localStorage (privacy mode): nothing to forget
  }
}

export function loadSession(): StoredSession | undefined {
  forgetLegacy();
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
