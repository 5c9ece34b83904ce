/**
 * The abuse of issue 13, replayed through the public API as an attacker
 * would: each attack returns what it achieved (calls that went through,
 * calls refused and how, what the victim saw). The server trusts
 * X-Forwarded-For from loopback (TRUSTED_PROXIES, set by the
 * orchestrator), so attacker, victim and setup accounts each come from an
 * address of their own, as they would behind a proxy.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../gen/chat/v1/auth_pb.js";
import { ConsentService } from "../../gen/chat/v1/consent_pb.js";
import { type ChatRequest, ChatRequestSchema, FeedService } from "../../gen/chat/v1/feed_pb.js";
import { ListMessagesResponseSchema, MessageService } from "../../gen/chat/v1/message_pb.js";
import { RoomService, Visibility } from "../../gen/chat/v1/room_pb.js";
import { UserService } from "../../gen/chat/v1/user_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Pushable } from "../../test/support/feed.js";
import { mapLimit } from "../clients/accounts.js";
import { Histogram, type LatencySummary } from "../lib/histogram.js";
import { cpuSeconds } from "../lib/proc.js";
import { sleep } from "../lib/timers.js";

/** The attacks, in the order of the issue. */
export const attackNames = [
  "guesses",
  "login-flood",
  "registrations",
  "reactions",
  "rooms",
  "messages",
  "typing",
  "chat-subscribes",
  "forced-rooms",
  "user-search",
  "names",
] as const;

/** One attack's name. */
export type AttackName = (typeof attackNames)[number];

/** Where and how hard to attack. */
export interface AttackContext {
  baseUrl: string;
  serverPid: number;
  /** Unique per run: usernames start with it. */
  tag: string;
  /** 1 = the sizes of issue 13. */
  scale: number;
  floodSeconds: number;
  /** Login attempts per second of the login flood. */
  floodRate: number;
}

/** What one attack achieved: figures and one line saying it. */
export interface AttackOutcome {
  figures: Record<string, number | string | boolean | LatencySummary>;
  summary: string;
}

/** Outcome of one call: "ok", the ErrorInfo reason, or the code's name. */
export type Answer = string;

/** Counts of answers, e.g. { ok: 10, RATE_LIMITED: 90 }. */
export type Tally = Record<Answer, number>;

/** What a call answered. */
export async function answerOf(p: Promise<unknown>): Promise<Answer> {
  try {
    await p;
    return "ok";
  } catch (e) {
    const ce = ConnectError.from(e);
    return ce.findDetails(ErrorInfoSchema)[0]?.reason || Code[ce.code] || String(ce.code);
  }
}

function tally(answers: Answer[]): Tally {
  const t: Tally = {};
  for (const a of answers) t[a] = (t[a] ?? 0) + 1;
  return t;
}

const fmtTally = (t: Tally) =>
  Object.entries(t)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");

const scaled = (ctx: AttackContext, n: number) => Math.max(1, Math.round(n * ctx.scale));

/** Call options: a bearer token (if any) and the client address the proxy would pass on. */
function from(address: string, token?: string) {
  const headers: Record<string, string> = { "x-forwarded-for": address };
  if (token) headers.authorization = `Bearer ${token}`;
  return { headers };
}

/** Public API clients over HTTP/1.1 (Connect protocol), as a browser would call. */
function clients(ctx: AttackContext) {
  const transport: Transport = createConnectTransport({ baseUrl: ctx.baseUrl, httpVersion: "1.1" });
  return {
    auth: createClient(AuthService, transport),
    rooms: createClient(RoomService, transport),
    msgs: createClient(MessageService, transport),
    feed: createClient(FeedService, transport),
    users: createClient(UserService, transport),
    consent: createClient(ConsentService, transport),
  };
}

type Clients = ReturnType<typeof clients>;

/** A signed-in account and the address it uses. */
interface Person {
  id: bigint;
  username: string;
  token: string;
  address: string;
}

let addressCounter = 0;
/** A fresh address for a setup account: setup never meets the per-address limits. */
function freshAddress(): string {
  addressCounter += 1;
  return `10.${(addressCounter >> 16) & 255}.${(addressCounter >> 8) & 255}.${addressCounter & 255}`;
}

const password = "correct horse battery staple";

async function person(c: Clients, username: string, address = freshAddress()): Promise<Person> {
  await c.auth.register({ username, password }, from(address));
  const res = await c.auth.login({ username, password, deviceName: "bench" }, from(address));
  return { id: res.user?.id ?? 0n, username, token: res.accessToken, address };
}

async function roomOf(c: Clients, owner: Person, name: string) {
  const res = await c.rooms.createRoom(
    { name, visibility: Visibility.PRIVATE },
    from(owner.address, owner.token),
  );
  return res.room?.id ?? 0n;
}

/** 250 guesses at one account from one address, 10 in flight (the issue measured 50/s). */
async function guesses(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const home = "198.51.100.10";
  const victim = await person(c, `${ctx.tag}_gv`, home);
  const attacker = "203.0.113.7";
  const n = scaled(ctx, 250);
  const started = performance.now();
  const answers = await mapLimit(Array.from({ length: n }), 10, (_, i) =>
    answerOf(
      c.auth.login({ username: victim.username, password: `guess number ${i}` }, from(attacker)),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const t = tally(answers);
  // A wrong password that was checked answers BAD_CREDENTIALS; a refused attempt RATE_LIMITED.
  const checked = t.BAD_CREDENTIALS ?? 0;
  const victimLogin = await answerOf(
    c.auth.login({ username: victim.username, password, deviceName: "home" }, from(home)),
  );
  return {
    figures: { attempts: n, checked, seconds, victimLogin, ...prefixed("answer", t) },
    summary:
      `${n} guesses in ${seconds.toFixed(1)} s: ${checked} passwords checked ` +
      `(${(checked / seconds).toFixed(1)}/s); answers ${fmtTally(t)}; ` +
      `the user's own login from home afterwards: ${victimLogin}`,
  };
}

const prefixed = (p: string, t: Tally) =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [`${p}:${k}`, v]));

/**
 * Four users send messages at a steady, permitted pace while nobody
 * attacks, then while one address floods Login with wrong passwords at a
 * fixed rate: their SendMessage latency in each phase.
 */
async function loginFlood(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const victims = await Promise.all([0, 1, 2, 3].map((i) => person(c, `${ctx.tag}_lv${i}`)));
  const owner = victims[0] as Person;
  // A public room they join themselves (adding them would need their consent).
  const created = await c.rooms.createRoom(
    { name: `${ctx.tag} flood`, visibility: Visibility.PUBLIC },
    from(owner.address, owner.token),
  );
  const room = created.room?.id ?? 0n;
  for (const v of victims.slice(1)) {
    await c.rooms.joinRoom({ roomId: room }, from(v.address, v.token));
  }
  const target = await person(c, `${ctx.tag}_lt`);
  const phase = async (flood: boolean) => {
    const h = new Histogram();
    const until = performance.now() + ctx.floodSeconds * 1000;
    let stop = false;
    const floodAnswers: Answer[] = [];
    // Open loop: attempt k is sent at start + k / rate whatever the answers,
    // as a flood would; at most 1,000 unanswered (the rest are counted as skipped).
    let skipped = 0;
    const sendRefusals: Answer[] = [];
    const flooders = flood
      ? [
          (async () => {
            const start = performance.now();
            const pending = new Set<Promise<void>>();
            for (let k = 0; !stop; k++) {
              const wait = start + (k * 1000) / ctx.floodRate - performance.now();
              if (wait > 0) await sleep(wait);
              if (pending.size >= 1000) {
                skipped += 1;
                continue;
              }
              const p = answerOf(
                c.auth.login(
                  { username: target.username, password: `flood ${k}` },
                  from("203.0.113.8"),
                ),
              ).then((a) => {
                floodAnswers.push(a);
                pending.delete(p);
              });
              pending.add(p);
            }
            await Promise.all(pending);
          })(),
        ]
      : [];
    // 1.1 s apart per user: under the default send limits (10 per 5 s, 60 per minute).
    const senders = victims.map(async (v, i) => {
      await sleep(i * 275);
      for (let k = 0; performance.now() < until; k++) {
        const t0 = performance.now();
        const a = await answerOf(
          c.msgs.sendMessage(
            { roomId: room, text: `steady ${k}`, clientMsgId: `${ctx.tag}-${flood}-${i}-${k}` },
            from(v.address, v.token),
          ),
        );
        if (a === "ok") h.record(performance.now() - t0);
        else sendRefusals.push(a);
        await sleep(Math.max(0, 1100 - (performance.now() - t0)));
      }
    });
    await Promise.all(senders);
    stop = true;
    await Promise.all(flooders);
    return {
      sends: h.summary(),
      flood: tally(floodAnswers),
      skipped,
      refused: tally(sendRefusals),
    };
  };
  const quiet = await phase(false);
  const flooded = await phase(true);
  return {
    figures: {
      quietSends: quiet.sends,
      floodedSends: flooded.sends,
      floodRate: ctx.floodRate,
      ...prefixed("quietSendsRefused", quiet.refused),
      ...prefixed("floodedSendsRefused", flooded.refused),
      floodSkipped: flooded.skipped,
      ...prefixed("flood", flooded.flood),
    },
    summary:
      `others' SendMessage p50/p99 ${quiet.sends.p50.toFixed(1)}/${quiet.sends.p99.toFixed(1)} ms quiet, ` +
      `${flooded.sends.p50.toFixed(1)}/${flooded.sends.p99.toFixed(1)} ms during the flood ` +
      `(${quiet.sends.count} and ${flooded.sends.count} sends); flood of ${ctx.floodRate}/s answered ${fmtTally(flooded.flood)}${flooded.skipped ? `, ${flooded.skipped} not sent (1,000 unanswered)` : ""}`,
  };
}

/** 100 registrations from one address, 4 in flight (the issue measured 46/s). */
async function registrations(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const n = scaled(ctx, 100);
  const started = performance.now();
  const answers = await mapLimit(Array.from({ length: n }), 4, (_, i) =>
    answerOf(c.auth.register({ username: `${ctx.tag}_r${i}`, password }, from("203.0.113.9"))),
  );
  const seconds = (performance.now() - started) / 1000;
  const t = tally(answers);
  return {
    figures: { attempts: n, seconds, ...prefixed("answer", t) },
    summary: `${n} registrations from one address in ${seconds.toFixed(1)} s: ${fmtTally(t)}`,
  };
}

/** 2,000 distinct reactions by one user on 5 messages, 8 in flight; then a history page's size. */
async function reactions(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const a = await person(c, `${ctx.tag}_ra`);
  const room = await roomOf(c, a, `${ctx.tag} reactions`);
  const ids: bigint[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await c.msgs.sendMessage(
      { roomId: room, text: `target ${i}`, clientMsgId: `${ctx.tag}-rt-${i}` },
      from(a.address, a.token),
    );
    ids.push(r.message?.id ?? 0n);
  }
  const n = scaled(ctx, 2000);
  const started = performance.now();
  const answers = await mapLimit(Array.from({ length: n }), 8, (_, i) =>
    answerOf(
      c.msgs.addReaction(
        { messageId: ids[i % 5] as bigint, emoji: `:r${Math.floor(i / 5)}:` },
        from(a.address, a.token),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const page = await c.msgs.listMessages({ roomId: room, limit: 50 }, from(a.address, a.token));
  const pageKiB = toBinary(ListMessagesResponseSchema, page).length / 1024;
  const t = tally(answers);
  return {
    figures: { attempts: n, seconds, pageKiB, ...prefixed("answer", t) },
    summary: `${n} distinct reactions on 5 messages in ${seconds.toFixed(1)} s: ${fmtTally(t)}; history page ${pageKiB.toFixed(1)} KiB`,
  };
}

/** 500 public rooms with 1,000-character descriptions; then whose rooms fill the directory's first page. */
async function rooms(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const a = await person(c, `${ctx.tag}_pa`);
  const reader = await person(c, `${ctx.tag}_pr`);
  const n = scaled(ctx, 500);
  const started = performance.now();
  const answers = await mapLimit(Array.from({ length: n }), 4, (_, i) =>
    answerOf(
      c.rooms.createRoom(
        {
          name: `${ctx.tag} spam ${i}`,
          description: "buy now ".repeat(125),
          visibility: Visibility.PUBLIC,
        },
        from(a.address, a.token),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const page = await c.rooms.listPublicRooms(
    { query: ctx.tag, pageSize: 50 },
    from(reader.address, reader.token),
  );
  const t = tally(answers);
  return {
    figures: { attempts: n, seconds, spamOnFirstPage: page.rooms.length, ...prefixed("answer", t) },
    summary: `${n} public rooms in ${seconds.toFixed(1)} s: ${fmtTally(t)}; the attacker's rooms on the directory's first page (50): ${page.rooms.length}`,
  };
}

/** 3,000 messages from one user into one room, 8 in flight (the issue: 3,000 in 8.6 s). */
async function messages(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const a = await person(c, `${ctx.tag}_ma`);
  const room = await roomOf(c, a, `${ctx.tag} messages`);
  const n = scaled(ctx, 3000);
  const started = performance.now();
  const answers = await mapLimit(Array.from({ length: n }), 8, (_, i) =>
    answerOf(
      c.msgs.sendMessage(
        { roomId: room, text: `spam ${i}`, clientMsgId: `${ctx.tag}-m-${i}` },
        from(a.address, a.token),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const t = tally(answers);
  return {
    figures: { attempts: n, seconds, ...prefixed("answer", t) },
    summary: `${n} messages in ${seconds.toFixed(1)} s: ${fmtTally(t)}`,
  };
}

/** 1,000 typing changes alternating true/false, one at a time. */
async function typing(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const a = await person(c, `${ctx.tag}_ta`);
  const room = await roomOf(c, a, `${ctx.tag} typing`);
  const n = scaled(ctx, 1000);
  const answers: Answer[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    answers.push(
      await answerOf(
        c.feed.setTyping({ roomId: room, typing: i % 2 === 0 }, from(a.address, a.token)),
      ),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const t = tally(answers);
  return {
    figures: { attempts: n, seconds, ...prefixed("answer", t) },
    summary: `${n} typing changes in ${seconds.toFixed(1)} s: ${fmtTally(t)} (each "ok" goes out to the room)`,
  };
}

/** 200 `subscribe` commands on one Chat stream over 5 rooms: answers, server CPU seconds. */
async function chatSubscribes(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const a = await person(c, `${ctx.tag}_ca`);
  const roomIds: bigint[] = [];
  for (let i = 0; i < 5; i++) roomIds.push(await roomOf(c, a, `${ctx.tag} chat ${i}`));
  const n = scaled(ctx, 200);
  const queue = new Pushable<ChatRequest>();
  const answers: Answer[] = [];
  const cpuBefore = cpuSeconds(ctx.serverPid);
  const started = performance.now();
  // Bidirectional streams need HTTP/2.
  const h2 = createClient(
    FeedService,
    createConnectTransport({ baseUrl: ctx.baseUrl, httpVersion: "2" }),
  );
  const stream = h2.chat(queue, from(a.address, a.token));
  for (let i = 0; i < n; i++) {
    queue.push(
      create(ChatRequestSchema, {
        requestId: `s${i}`,
        command: {
          case: "subscribe",
          value: { positions: roomIds.map((roomId) => ({ roomId, lastSeq: 0n })) },
        },
      }),
    );
  }
  let streamEnd = "open";
  try {
    for await (const res of stream) {
      const r = res.response;
      if (r.case === "ack" && r.value.requestId.startsWith("s")) answers.push("ok");
      if (r.case === "error") {
        const info = r.value.details
          .map((d) => anyUnpack(d, ErrorInfoSchema))
          .find((d) => d !== undefined);
        const reason = info?.reason || r.value.code;
        answers.push(reason);
      }
      if (answers.length >= n) break;
    }
  } catch (e) {
    const ce = ConnectError.from(e);
    streamEnd = Code[ce.code] ?? "error";
    if (process.env.ATTACKS_DEBUG) console.error(ce);
  }
  queue.end();
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(ctx.serverPid) - cpuBefore;
  const t = tally(answers);
  return {
    figures: { attempts: n, seconds, serverCpuSeconds: cpu, streamEnd, ...prefixed("answer", t) },
    summary: `${n} subscribe commands (5 rooms each) in ${seconds.toFixed(1)} s: ${fmtTally(t)}; server CPU ${cpu.toFixed(2)} s; stream ${streamEnd === "open" ? "stayed open" : `ended ${streamEnd}`}`,
  };
}

/** A stranger puts one user into 300 rooms; how many the user ends up in, and invitations. */
async function forcedRooms(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const victim = await person(c, `${ctx.tag}_fv`);
  const a = await person(c, `${ctx.tag}_fa`);
  const n = scaled(ctx, 300);
  const started = performance.now();
  const answers = await mapLimit(Array.from({ length: n }), 4, (_, i) =>
    answerOf(
      c.rooms.createRoom(
        { name: `${ctx.tag} forced ${i}`, visibility: Visibility.PRIVATE, memberIds: [victim.id] },
        from(a.address, a.token),
      ),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const mine = await c.rooms.listMyRooms({ pageSize: 100 }, from(victim.address, victim.token));
  const inv = await c.consent.listInvitations({}, from(victim.address, victim.token));
  const t = tally(answers);
  return {
    figures: {
      attempts: n,
      seconds,
      victimRooms: mine.rooms.length,
      invitations: inv.invitations.length,
      ...prefixed("answer", t),
    },
    summary: `${n} rooms created with the user as member in ${seconds.toFixed(1)} s: ${fmtTally(t)}; the user is in ${mine.rooms.length} of them${mine.nextPageToken ? "+" : ""} and has ${inv.invitations.length} invitations to decide on`,
  };
}

/** A stranger lists accounts by prefix (30 exist with that prefix). */
async function userSearch(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const prefix = `${ctx.tag}_u`;
  await mapLimit(Array.from({ length: 30 }), 4, (_, i) => person(c, `${prefix}${i}`));
  const stranger = await person(c, `${ctx.tag}_us`);
  const res = await c.users.searchUsers(
    { prefix, pageSize: 50 },
    from(stranger.address, stranger.token),
  );
  const exact = await c.users.searchUsers(
    { prefix: `${prefix}7`, pageSize: 50 },
    from(stranger.address, stranger.token),
  );
  return {
    figures: {
      accounts: 30,
      foundByPrefix: res.users.length,
      foundByExactName: exact.users.length,
    },
    summary: `a stranger's prefix search finds ${res.users.length} of 30 accounts; an exact username finds ${exact.users.length}`,
  };
}

/** Display names of invisible characters and bidi overrides; `password` as a password. */
async function names(ctx: AttackContext): Promise<AttackOutcome> {
  const c = clients(ctx);
  const a = await person(c, `${ctx.tag}_na`);
  const tries: Record<string, string> = {
    "invisible name": "\u200b\u200c\u2060",
    "bidi override": "alice\u202egnp.exe",
  };
  const figures: Record<string, string> = {};
  for (const [k, displayName] of Object.entries(tries)) {
    figures[k] = await answerOf(c.users.updateProfile({ displayName }, from(a.address, a.token)));
  }
  figures["invisible message"] = await answerOf(
    c.msgs.sendMessage(
      {
        roomId: await roomOf(c, a, `${ctx.tag} names`),
        text: "\u200b\u200b",
        clientMsgId: `${ctx.tag}-n`,
      },
      from(a.address, a.token),
    ),
  );
  figures["password 'password'"] = await answerOf(
    c.auth.register({ username: `${ctx.tag}_np`, password: "password" }, from(freshAddress())),
  );
  return {
    figures,
    summary: Object.entries(figures)
      .map(([k, v]) => `${k}: ${v}`)
      .join("; "),
  };
}

/** Every attack by name. */
export const attacks: Record<AttackName, (ctx: AttackContext) => Promise<AttackOutcome>> = {
  guesses,
  "login-flood": loginFlood,
  registrations,
  reactions,
  rooms,
  messages,
  typing,
  "chat-subscribes": chatSubscribes,
  "forced-rooms": forcedRooms,
  "user-search": userSearch,
  names,
};
