/**
 * `npm run bench -- search`: search latency over a large index and the cost
 * the tokens add to each send (docs/search.md).
 *
 * 1. A throwaway database, migrated; users, rooms and memberships; the
 *    messages bulk-inserted with their tokens (indexTokens, as sends write
 *    them), the FULLTEXT index kept up as they go in. (Dropping it for the
 *    load and creating it after left MariaDB 10.11's index empty of the rows
 *    loaded meanwhile.)
 * 2. searchMessages (the domain function the RPC calls) timed for each query,
 *    as a member of --member-of rooms and within one room, both orders.
 * 3. Cost per send: the tokenizer alone, and one-message transactions into
 *    the loaded table with tokens and without (search_tokens NULL), interleaved.
 */
import { performance } from "node:perf_hooks";
import * as mariadb from "mariadb";
import { searchMessages } from "../../server/domain/search/message-search.js";
import { indexTokens } from "../../server/domain/search/search-tokens.js";
import {
  connectionConfig,
  ensureDatabase,
  migrate,
  parseDatabaseUrl,
} from "../../server/store/migrate/migrate.js";
import { createPrisma } from "../../server/store/prisma.js";
import { benchDatabase } from "../lib/database.js";
import { Histogram, type LatencySummary } from "../lib/histogram.js";
import { loadAverage, machineInfo } from "../lib/machine.js";
import { appendResult, fmtLatency, formatTable } from "../lib/report.js";
import { repoRoot } from "../lib/server-process.js";
import type { SearchOptions } from "./options.js";

// A small corpus with a skewed (Zipf-like) choice of words, so some words
// are everywhere and some rare, as in real chat.
const zh = [
  "今天",
  "天气",
  "很好",
  "我们",
  "开会",
  "项目",
  "进度",
  "明天",
  "下雨",
  "周末",
  "吃饭",
  "公园",
  "测试",
  "上线",
  "部署",
  "服务器",
  "数据库",
  "问题",
  "解决",
  "客户",
  "需求",
  "文档",
  "代码",
  "评审",
  "东京",
  "天気",
  "会議",
  "資料",
  "確認",
  "お願い",
  "します",
  "ありがとう",
  "了",
  "的",
  "吗",
  "吧",
];
const en = [
  "the",
  "a",
  "to",
  "we",
  "is",
  "it",
  "meeting",
  "deploy",
  "deployed",
  "deployment",
  "build",
  "staging",
  "release",
  "bug",
  "fix",
  "review",
  "lunch",
  "weather",
  "today",
  "tomorrow",
  "server",
  "database",
  "customer",
  "ticket",
  "urgent",
  "thanks",
  "please",
  "check",
  "docs",
  "report",
  "flaky",
  "test",
  "rollback",
  "latency",
  "search",
  "index",
  "pipeline",
  "merge",
  "branch",
  "ok",
];

function zipf(rand: () => number, n: number): number {
  // Index in [0, n) with probability ~ 1/(i+1).
  const h = Math.log(n + 1);
  return Math.min(n - 1, Math.floor(Math.exp(rand() * h) - 1));
}

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Vocabularies of a few thousand words: the named ones above at the top
 * ranks (frequent), then made-up ones (Chinese: pairs of common characters;
 * English: pronounceable letters), so a query term is in a realistic share
 * of messages rather than in most of them.
 */
function vocabularies(rand: () => number): { zhWords: string[]; enWords: string[] } {
  const chars =
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领深早保";
  const zhWords = [...zh];
  for (let i = 0; i < 3000; i++) {
    zhWords.push(
      chars[Math.floor(rand() * chars.length)] +
        (chars[Math.floor(rand() * chars.length)] as string),
    );
  }
  const enWords = [...en];
  const c = "bcdfghklmnprstvz";
  const v = "aeiou";
  for (let i = 0; i < 3000; i++) {
    let w = "";
    const syllables = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < syllables; k++) {
      w +=
        (c[Math.floor(rand() * c.length)] as string) + (v[Math.floor(rand() * v.length)] as string);
    }
    enWords.push(w);
  }
  return { zhWords, enWords };
}

function messageText(rand: () => number, vocab: ReturnType<typeof vocabularies>): string {
  const words = 4 + Math.floor(rand() * 20);
  if (rand() < 0.5) {
    let s = "";
    for (let i = 0; i < words; i++) s += vocab.zhWords[zipf(rand, vocab.zhWords.length)];
    return s;
  }
  const out: string[] = [];
  for (let i = 0; i < words; i++)
    out.push(vocab.enWords[zipf(rand, vocab.enWords.length)] as string);
  return out.join(" ");
}

const queries = [
  "天气",
  "今天天气很好",
  "部署",
  "会議",
  "deploy",
  "meeting",
  "rollback latency",
  "zzzrare",
];

/** One query's latencies. */
interface QueryResult {
  query: string;
  scope: string;
  order: string;
  hitsFirstPage: number;
  latency: LatencySummary;
}

/** Runs the scenario and prints its table. */
export async function runSearch(o: SearchOptions): Promise<void> {
  const db = benchDatabase();
  const log = (s: string) => process.stderr.write(`[search] ${s}\n`);
  const load = loadAverage();
  const conn = await mariadb.createConnection({
    ...connectionConfig(parseDatabaseUrl(db.url), null),
    bigIntAsNumber: false,
  });
  await ensureDatabase(db.url);
  await migrate(db.url, { log: () => {} });
  const prisma = createPrisma(db.url);
  try {
    await conn.query(`USE \`${db.name}\``);
    const rand = prng(17);
    const vocab = vocabularies(rand);
    log(`users, ${o.rooms} rooms`);
    await conn.query(
      `INSERT INTO users (id, username, username_key, password_hash, updated_at) VALUES (1, 'searcher', 'searcher', 'x', NOW(3)), (2, 'writer', 'writer', 'x', NOW(3)), (3, 'everywhere', 'everywhere', 'x', NOW(3))`,
    );
    for (let r = 1; r <= o.rooms; r += 1000) {
      const ids = Array.from({ length: Math.min(1000, o.rooms - r + 1) }, (_, i) => r + i);
      await conn.query(
        `INSERT INTO rooms (id, kind, visibility, name, creator_id, last_seq) VALUES ${ids.map((id) => `(${id}, 'CHANNEL', 'PRIVATE', 'r${id}', 2, 0)`).join(",")}`,
      );
      await conn.query(
        `INSERT INTO memberships (room_id, user_id, state) VALUES ${ids
          .flatMap((id) => [
            `(${id}, 2, 'JOINED')`,
            `(${id}, 3, 'JOINED')`,
            ...(id <= o.memberOf ? [`(${id}, 1, 'JOINED')`] : []),
          ])
          .join(",")}`,
      );
    }
    log(`${o.messages} messages`);
    const seqs = new Array<number>(o.rooms + 1).fill(0);
    const t0 = performance.now();
    let tokenMs = 0;
    const chunk = 2000;
    const start = Date.now() - o.messages * 1000;
    for (let done = 0; done < o.messages; done += chunk) {
      const params: unknown[] = [];
      const rows: string[] = [];
      for (let i = done; i < Math.min(o.messages, done + chunk); i++) {
        const room = 1 + Math.floor(rand() * o.rooms);
        const seq = (seqs[room] ?? 0) + 1;
        seqs[room] = seq;
        const text = messageText(rand, vocab);
        const a = performance.now();
        const tokens = indexTokens(text, BigInt(room));
        tokenMs += performance.now() - a;
        rows.push("(?, ?, 2, ?, 'TEXT', ?, ?, ?)");
        params.push(room, seq, `c${i}`, text, new Date(start + i * 1000), tokens);
      }
      await conn.query(
        `INSERT INTO messages (room_id, seq, sender_id, client_msg_id, kind, text, created_at, search_tokens) VALUES ${rows.join(",")}`,
        params,
      );
      if ((done / chunk) % 50 === 0) log(`  ${done} stored`);
    }
    const loadS = (performance.now() - t0) / 1000;
    await conn.query("ANALYZE TABLE messages");
    const [size] = (await conn.query(
      "SELECT data_length + index_length AS bytes FROM information_schema.tables WHERE table_schema = ? AND table_name = 'messages'",
      [db.name],
    )) as { bytes: number }[];

    const results: QueryResult[] = [];
    // User 1 is in --member-of rooms, user 3 in all of them (the longest
    // expression: every room named once per query term).
    for (const [scope, roomId, userId] of [
      [`member of ${o.memberOf} rooms`, 0n, 1n],
      ["one room", 1n, 1n],
      [`member of all ${o.rooms} rooms`, 0n, 3n],
    ] as const) {
      for (const order of ["relevance", "date"] as const) {
        for (const query of queries) {
          const h = new Histogram();
          let hitsFirstPage = 0;
          for (let i = 0; i < o.repeat; i++) {
            const a = performance.now();
            const page = await searchMessages(prisma, {
              userId,
              query,
              roomId,
              senderId: 0n,
              order,
              pageSize: 20,
              pageToken: "",
            });
            h.record(performance.now() - a);
            hitsFirstPage = page.hits.length;
          }
          results.push({ query, scope, order, hitsFirstPage, latency: h.summary() });
          log(`${scope} ${order} ${query}: ${fmtLatency(h.summary())}`);
        }
      }
    }

    // Cost per send: one-message transactions, with tokens and without, interleaved.
    const withTokens = new Histogram();
    const without = new Histogram();
    const tokenize = new Histogram();
    for (let i = 0; i < o.sends; i++) {
      const text = messageText(rand, vocab);
      for (const tokens of [true, false]) {
        const room = 1 + (i % o.rooms);
        const seq = (seqs[room] ?? 0) + 1;
        seqs[room] = seq;
        const a = performance.now();
        const t = tokens ? indexTokens(text, BigInt(room)) : null;
        if (tokens) tokenize.record(performance.now() - a);
        await conn.beginTransaction();
        await conn.query(
          "INSERT INTO messages (room_id, seq, sender_id, client_msg_id, kind, text, search_tokens) VALUES (?, ?, 2, ?, 'TEXT', ?, ?)",
          [room, seq, `s${i}${tokens}`, text, t],
        );
        await conn.commit();
        (tokens ? withTokens : without).record(performance.now() - a);
      }
    }

    const summary = {
      messages: o.messages,
      loadSeconds: loadS,
      tableMiB: Number(size?.bytes ?? 0) / 2 ** 20,
      tokenizeMeanUsDuringLoad: (tokenMs / o.messages) * 1000,
      queries: results,
      send: {
        tokenize: tokenize.summary(),
        withTokens: withTokens.summary(),
        withoutTokens: without.summary(),
      },
    };
    const rows: [string, string][] = [
      ["messages", `${o.messages} in ${o.rooms} rooms; searcher in ${o.memberOf}`],
      [
        "load (index kept up)",
        `${loadS.toFixed(0)} s; table and indexes ${summary.tableMiB.toFixed(0)} MiB`,
      ],
      ...results.map((r): [string, string] => [
        `${r.scope}, ${r.order}: ${r.query}`,
        `${fmtLatency(r.latency)} (${r.hitsFirstPage} hits)`,
      ]),
      ["send: tokenize", fmtLatency(summary.send.tokenize)],
      ["send: 1-message tx with tokens", fmtLatency(summary.send.withTokens)],
      ["send: 1-message tx without", fmtLatency(summary.send.withoutTokens)],
      ["load average before / after", `${load.join(" ")} / ${loadAverage().join(" ")}`],
    ];
    process.stdout.write(`\n${formatTable(rows)}\n`);
    if (o.save) {
      appendResult({
        bench: "search",
        ...{
          schema: 1,
          date: new Date().toISOString(),
          machine: machineInfo(repoRoot),
          options: o,
          result: summary,
          ok: true,
          problems: [],
          loadAverageAfter: loadAverage(),
        },
      });
    }
  } finally {
    await prisma.$disconnect();
    await conn.end();
    await db.drop();
  }
}
