/**
 * Reaching the server: the SDK's Node client with the saved token, and for
 * the interactive mode a check whether HTTP/2 gets through (the Chat
 * stream needs it) with a fall back to HTTP/1.1 (Subscribe plus unary
 * calls) when something on the way speaks only HTTP/1.1.
 */
import { type ChatClient, Code, ConnectError, createChatClient } from "@protochat/sdk/node";

/** Creates a client of `server` carrying `token`. */
export function makeClient(server: string, token: string | undefined, httpVersion: "2" | "1.1") {
  return createChatClient({ baseUrl: server, token, httpVersion });
}

/** Answers that prove the request reached our server over that protocol. */
const SERVER_ANSWERS = new Set([
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.NotFound,
  Code.InvalidArgument,
  Code.ResourceExhausted,
  Code.FailedPrecondition,
]);

async function reaches(client: ChatClient): Promise<ConnectError | undefined> {
  try {
    await client.users.getMe({}, { timeoutMs: 5_000 });
    return undefined;
  } catch (err) {
    const ce = ConnectError.from(err);
    return SERVER_ANSWERS.has(ce.code) ? undefined : ce;
  }
}

/**
 * A client for the interactive mode: HTTP/2 when it works, else HTTP/1.1.
 * Throws the HTTP/1.1 error when the server cannot be reached at all.
 */
export async function connectInteractive(
  server: string,
  token: string | undefined,
  forceHttp1: boolean,
): Promise<{ client: ChatClient; httpVersion: "2" | "1.1"; http2Error?: ConnectError }> {
  if (!forceHttp1) {
    const h2 = makeClient(server, token, "2");
    const h2Error = await reaches(h2);
    if (!h2Error) return { client: h2, httpVersion: "2" };
    const h1 = makeClient(server, token, "1.1");
    const h1Error = await reaches(h1);
    if (h1Error) throw h1Error;
    return { client: h1, httpVersion: "1.1", http2Error: h2Error };
  }
  return { client: makeClient(server, token, "1.1"), httpVersion: "1.1" };
}
