/**
 * The one-shot commands: login, register, logout, whoami, rooms, join,
 * history, send. Each prints readable lines, or JSON lines with `--json`.
 */

import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import {
  type ChatClient,
  Code,
  ConnectError,
  MessageSchema,
  MyRoomSchema,
  RoomSchema,
  SendMessageResponseSchema,
  UserSchema,
} from "@protochat/sdk";
import { type Config, saveConfig } from "./config.js";
import { makeClient } from "./connect.js";
import { formatMessage, formatMyRoom } from "./format.js";
import { Names } from "./names.js";
import type { Output } from "./output.js";
import { readPassword, readStdinLines } from "./prompt.js";
import { findPublicRoom, findRoom } from "./rooms.js";

/** What every command gets. */
export interface Context {
  out: Output;
  server: string;
  /** The token for `server` (env or config), if any. */
  token: string | undefined;
  configPath: string;
  config: Config;
  http1: boolean;
  stdin: NodeJS.ReadStream;
  /** Parsed options (all commands share one set). */
  options: {
    passwordStdin: boolean;
    displayName?: string;
    limit?: string;
    before?: string;
    replyTo?: string;
    clientMsgId?: string;
    /** Files to attach (send --file). */
    files?: string[];
  };
}

/** A client for one-shot calls (HTTP/1.1: works through any proxy). */
function client(ctx: Context): ChatClient {
  return makeClient(ctx.server, ctx.token, "1.1");
}

function requireLogin(ctx: Context): void {
  if (!ctx.token) {
    throw new ConnectError(
      `not logged in to ${ctx.server}: run protochat login`,
      Code.Unauthenticated,
    );
  }
}

function usage(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

async function logInAndSave(ctx: Context, username: string, password: string): Promise<void> {
  const c = makeClient(ctx.server, undefined, "1.1");
  const res = await c.login(username, password, `protochat on ${hostname()}`.slice(0, 64));
  const user = res.user;
  ctx.config = {
    server: ctx.server,
    token: res.accessToken,
    username: user?.username ?? username,
    userId: String(user?.id ?? ""),
  };
  saveConfig(ctx.configPath, ctx.config);
  ctx.out.emit(`Logged in to ${ctx.server} as ${user?.username ?? username}.`, () => ({
    type: "login",
    server: ctx.server,
    user: user ? toJson(UserSchema, user) : undefined,
    config: ctx.configPath,
  }));
  ctx.out.note(`The access token is kept in ${ctx.configPath} (readable by you only).`);
}

export async function login(ctx: Context, args: string[]): Promise<void> {
  const username = args[0];
  if (!username) throw usage("usage: protochat login <username> [--password-stdin]");
  const password = await readPassword(ctx.stdin, ctx.options.passwordStdin);
  await logInAndSave(ctx, username, password);
}

export async function register(ctx: Context, args: string[]): Promise<void> {
  const username = args[0];
  if (!username) throw usage("usage: protochat register <username> [--display-name NAME]");
  const password = await readPassword(ctx.stdin, ctx.options.passwordStdin);
  const c = makeClient(ctx.server, undefined, "1.1");
  await c.auth.register({ username, password, displayName: ctx.options.displayName ?? "" });
  await logInAndSave(ctx, username, password);
}

export async function logout(ctx: Context): Promise<void> {
  requireLogin(ctx);
  try {
    await client(ctx).logout();
  } catch (err) {
    // An expired or revoked token is logged out already.
    if (ConnectError.from(err).code !== Code.Unauthenticated) throw err;
  }
  const { token: _dropped, ...rest } = ctx.config;
  saveConfig(ctx.configPath, rest);
  ctx.out.emit(`Logged out of ${ctx.server}.`, () => ({ type: "logout", server: ctx.server }));
}

export async function whoami(ctx: Context): Promise<void> {
  requireLogin(ctx);
  const me = (await client(ctx).users.getMe({})).user;
  ctx.out.emit(`${me?.username} (id ${me?.id}) on ${ctx.server}`, () => ({
    type: "user",
    user: me ? toJson(UserSchema, me) : undefined,
  }));
}

export async function rooms(ctx: Context): Promise<void> {
  requireLogin(ctx);
  const c = client(ctx);
  const meId = ctx.config.userId ? BigInt(ctx.config.userId) : undefined;
  const list = await c.listMyRooms();
  if (list.length === 0) ctx.out.note("You are in no rooms yet: protochat join <room>");
  for (const r of list) {
    ctx.out.emit(formatMyRoom(r, meId), () => ({ type: "room", room: toJson(MyRoomSchema, r) }));
  }
}

export async function join(ctx: Context, args: string[]): Promise<void> {
  requireLogin(ctx);
  if (!args[0]) throw usage("usage: protochat join <room id or name>");
  const c = client(ctx);
  const roomId = await findPublicRoom(c, args[0]);
  const res = await c.rooms.joinRoom({ roomId });
  ctx.out.emit(`Joined #${res.room?.name ?? roomId} (id ${roomId}).`, () => ({
    type: "joined",
    room: res.room ? toJson(RoomSchema, res.room) : undefined,
  }));
}

function seqOption(value: string | undefined, name: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw usage(`--${name} must be a number`);
  return BigInt(value);
}

export async function history(ctx: Context, args: string[]): Promise<void> {
  requireLogin(ctx);
  if (!args[0]) throw usage("usage: protochat history <room> [--limit N] [--before SEQ]");
  const c = client(ctx);
  const me = (await c.users.getMe({})).user;
  const room = await findRoom(c, args[0], me?.id ?? 0n);
  const limit = Number(seqOption(ctx.options.limit, "limit") ?? 50n);
  const before = seqOption(ctx.options.before, "before");
  const page = await c.messages.listMessages({
    roomId: room.id,
    limit: Math.min(200, Math.max(1, limit)),
    anchor: before === undefined ? { case: undefined } : { case: "beforeSeq", value: before },
  });
  const names = new Names(c);
  names.remember([me]);
  await names.load(page.messages.flatMap((m) => [m.senderId, ...systemIds(m)]));
  for (const m of page.messages) {
    ctx.out.emit(
      formatMessage(m, (id) => names.peek(id)),
      () => ({
        type: "message",
        sender: names.peek(m.senderId),
        message: toJson(MessageSchema, m),
      }),
    );
  }
}

/** User ids a SYSTEM message names (so their names can be shown). */
export function systemIds(m: {
  system?: { actorId: bigint; notice: { case?: string; value?: unknown } };
}): bigint[] {
  const s = m.system;
  if (!s) return [];
  const v = s.notice.value as { userId?: bigint; userIds?: bigint[] } | undefined;
  return [s.actorId, ...(v?.userIds ?? []), ...(v?.userId !== undefined ? [v.userId] : [])];
}

export async function send(ctx: Context, args: string[]): Promise<void> {
  requireLogin(ctx);
  const [ref, ...words] = args;
  if (!ref) throw usage("usage: protochat send <room> <text...>  (or text lines on stdin with -)");
  const c = client(ctx);
  const me = (await c.users.getMe({})).user;
  const room = await findRoom(c, ref, me?.id ?? 0n);
  const files = ctx.options.files ?? [];
  if (files.length > 0) {
    await sendFiles(ctx, c, room, words.join(" "), files);
    return;
  }
  const fromStdin = words.length === 0 || (words.length === 1 && words[0] === "-");
  const texts = fromStdin
    ? (await readStdinLines(ctx.stdin)).filter((l) => l.trim())
    : [words.join(" ")];
  if (texts.length === 0) throw usage("nothing to send");
  if (ctx.options.clientMsgId && texts.length > 1) {
    throw usage("--client-msg-id names one message: send one text with it");
  }
  const replyToId = seqOption(ctx.options.replyTo, "reply-to");
  for (const text of texts) {
    const res = await c.send(room.id, text, { clientMsgId: ctx.options.clientMsgId, replyToId });
    ctx.out.emit(
      `Sent to ${room.title} (seq ${res.message?.seq})${res.duplicate ? ", already sent before" : ""}.`,
      () => ({ type: "sent", response: toJson(SendMessageResponseSchema, res) }),
    );
  }
}

/** send --file: uploads each file, then sends one message with all of them. */
async function sendFiles(
  ctx: Context,
  c: ChatClient,
  room: { id: bigint; title: string },
  text: string,
  paths: string[],
): Promise<void> {
  const attachmentIds: bigint[] = [];
  for (const path of paths) {
    const data = await readFile(path);
    const att = await c.upload({ name: basename(path), data });
    attachmentIds.push(att.id);
  }
  const res = await c.send(room.id, text, {
    clientMsgId: ctx.options.clientMsgId,
    replyToId: seqOption(ctx.options.replyTo, "reply-to"),
    attachmentIds,
  });
  ctx.out.emit(
    `Sent ${paths.length} file${paths.length === 1 ? "" : "s"} to ${room.title} (seq ${res.message?.seq}).`,
    () => ({ type: "sent", response: toJson(SendMessageResponseSchema, res) }),
  );
}
