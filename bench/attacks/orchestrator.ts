/**
 * `npm run bench -- attacks`: the abuse measured in issue 13, replayed
 * against a server process as production starts it, once with rate limits
 * off and anyone allowed to add anyone (what the server did before the
 * limits), once with the defaults (docs/limits.md). Each attack reports
 * what it achieved in each configuration, side by side.
 *
 * The checks: with the defaults, no attack gets further than its limit
 * allows (the table in docs/limits.md gives each); with limits off the
 * attacks succeed, which shows the attack itself works and the limit is
 * what stops it.
 */
import { withHarness } from "../lib/harness.js";
import { finish, formatColumns, makeRecord } from "../lib/report.js";
import { type AttackName, type AttackOutcome, attacks } from "./attacks.js";
import type { AttacksOptions } from "./options.js";

/** Each configuration's server environment. */
const configurations = {
  off: { RATE_LIMITS_ENABLED: "false", DEFAULT_WHO_MAY_ADD: "anyone" },
  on: { RATE_LIMITS_ENABLED: "true", DEFAULT_WHO_MAY_ADD: "shared_room" },
} as const;

type Configuration = keyof typeof configurations;

/** What an attacks run stores. */
export interface AttacksResult {
  outcomes: Partial<Record<AttackName, Partial<Record<Configuration, AttackOutcome>>>>;
}

const n = (o: AttackOutcome | undefined, key: string) => {
  const v = o?.figures[key];
  return typeof v === "number" ? v : 0;
};

/**
 * What the defaults must hold an attack to (scale-independent upper
 * bounds from docs/limits.md); undefined: nothing to check.
 */
function problemWithDefaults(name: AttackName, o: AttackOutcome): string | undefined {
  const ok = n(o, "answer:ok");
  const bound: Partial<Record<AttackName, [boolean, string]>> = {
    guesses: [
      n(o, "checked") <= 5 && o.figures.victimLogin === "ok",
      "more than 5 passwords checked, or the user's own login refused",
    ],
    registrations: [ok <= 10, "more than 10 registrations from one address"],
    reactions: [ok <= 50, "more than 10 distinct reactions per message (5 messages)"],
    rooms: [ok <= 10, "more than 10 rooms created"],
    messages: [ok <= 60, "more than 60 messages in a minute"],
    typing: [ok <= 20, "more than 20 typing changes"],
    "chat-subscribes": [
      ok <= 20 && o.figures.streamEnd === "open",
      "more than 20 subscriptions, or the stream ended",
    ],
    "forced-rooms": [n(o, "victimRooms") === 0, "the user was put into a stranger's room"],
    "user-search": [n(o, "foundByPrefix") === 0, "a stranger found accounts by prefix"],
    names: [
      Object.values(o.figures).every((v) => v === "INVALID_ARGUMENT" || v === "INVALID_FIELDS"),
      "a name, text or password was accepted",
    ],
  };
  const b = bound[name];
  return b && !b[0] ? `${name} with the defaults: ${b[1]} (${o.summary})` : undefined;
}

/** Runs the attacks in each configuration asked for, prints and stores the result. */
export async function runAttacks(o: AttacksOptions): Promise<void> {
  const wanted: Configuration[] = o.limits === "both" ? ["off", "on"] : [o.limits];
  const result: AttacksResult = { outcomes: {} };
  const problems: string[] = [];
  for (const [i, conf] of wanted.entries()) {
    const last = i === wanted.length - 1;
    await withHarness(
      {
        scenario: "attacks",
        // Behind a proxy on loopback: X-Forwarded-For names each client.
        serverEnv: { ...configurations[conf], TRUSTED_PROXIES: "127.0.0.1,::1" },
        fdLimit: 4096,
      },
      async (h) => {
        for (const name of o.attacks) {
          // Each attack on a fresh process: one attack's counters and garbage are not the next one's.
          await h.restartServer();
          const outcome = await attacks[name]({
            baseUrl: h.server.baseUrl,
            serverPid: h.server.pid,
            tag: `k${Date.now().toString(36).slice(-5)}`,
            scale: o.scale,
            floodSeconds: o.floodSeconds,
            floodRate: o.floodRate,
          });
          const entry = result.outcomes[name] ?? {};
          entry[conf] = outcome;
          result.outcomes[name] = entry;
          h.log(`limits ${conf}: ${name}: ${outcome.summary}`);
          if (conf === "on") {
            const p = problemWithDefaults(name, outcome);
            if (p) problems.push(p);
          }
        }
        await h.stopProcesses();
        if (!last) return;
        const record = makeRecord(h, o, result, problems);
        const rows: [string, string][] = [];
        for (const name of o.attacks) {
          for (const conf of wanted) {
            const out = result.outcomes[name]?.[conf];
            if (out) rows.push([`${name} (limits ${conf})`, out.summary]);
          }
        }
        const head = ["attack", ...wanted.map((c) => `went through, limits ${c}`)];
        const table = formatColumns(
          head,
          o.attacks.map((name) => [
            name,
            ...wanted.map((c) => {
              const out = result.outcomes[name]?.[c];
              return out && "answer:ok" in out.figures ? String(n(out, "answer:ok")) : "-";
            }),
          ]),
          [0],
        );
        finish(h, record, rows, o.save, { after: table.join("\n") });
      },
    );
  }
}
