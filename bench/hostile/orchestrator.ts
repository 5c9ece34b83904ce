/**
 * `npm run bench -- hostile`: what strangers can make the server hold. The
 * server runs as production starts it (its default limits unless
 * overridden with --env), a fresh process per scenario on the shared
 * harness (lib/harness.ts), so one scenario's garbage is not the next
 * one's baseline. Per scenario, this process opens N connections that
 * never finish what they start (openers.ts) and measures the server's RSS
 * (VmRSS, sampled every 50 ms) above its idle baseline, and how long the
 * server takes to close each of them.
 *
 * The target (see "Hostile clients" in README.md): 1,000 of them grow RSS
 * by at most 50 MiB and all are closed within the configured timeouts
 * (Watch streams are long-lived by design: there the target is the cap on
 * how many are admitted). The check: every connection but the Watch
 * streams was closed by the server within --wait-s.
 */
import { withHarness } from "../lib/harness.js";
import { rssBytes } from "../lib/proc.js";
import { finish, makeRecord } from "../lib/report.js";
import type { ServerProcess } from "../lib/server-process.js";
import { sleep } from "../lib/timers.js";
import { type Held, type HostileScenario, openHostile } from "./openers.js";
import type { HostileOptions } from "./options.js";

/** One scenario as stored. */
export interface ScenarioResult {
  scenario: HostileScenario;
  opened: number;
  closedByServer: number;
  /** Admitted long-lived streams (watch only). */
  admitted?: number;
  rssBaselineMiB: number;
  /** Highest VmRSS above the baseline while the scenario ran (garbage included). */
  rssPeakDeltaMiB: number;
  /** RSS above the baseline after a full GC, once everything was opened (what stays). */
  rssAfterGcDeltaMiB: number;
  closeMsP50?: number;
  closeMsMax?: number;
  answers: Record<string, number>;
}

/** What a hostile run stores (schema 2; schema 1 had `results` and no server facts). */
export interface HostileResult {
  scenarios: ScenarioResult[];
}

const mib = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

async function runScenario(
  server: ServerProcess,
  scenario: HostileScenario,
  o: HostileOptions,
): Promise<ScenarioResult> {
  // Start-up garbage settles over a few GCs: the lowest of three is the baseline.
  let baseline = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    baseline = Math.min(baseline, (await server.memory()).rss);
    await sleep(300);
  }
  let peak = rssBytes(server.pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(server.pid));
  }, 50);
  const held: Held[] = [];
  let release = () => {};
  let admitted: number | undefined;
  let afterGc = baseline;
  try {
    const opened = await openHostile(scenario, server.port, o, held);
    release = opened.release;
    admitted = opened.admitted;
    const openedAll = Date.now();
    afterGc = (await server.memory()).rss;
    // Until the server closed everything (Watch: a moment to settle), or the wait is over.
    const deadline = openedAll + (scenario === "watch" ? 2_000 : o.waitS * 1000);
    while (Date.now() < deadline) {
      if (scenario !== "watch" && held.every((h) => h.closed !== undefined)) break;
      await sleep(100);
    }
    peak = Math.max(peak, rssBytes(server.pid));
  } finally {
    clearInterval(sampler);
    release();
  }
  const closeMs = held
    .filter((h) => h.closed !== undefined)
    .map((h) => (h.closed as number) - h.opened)
    .sort((a, b) => a - b);
  const answers: Record<string, number> = {};
  for (const h of held) {
    const key = (h.answer ?? "(nothing)").split("\r\n")[0] ?? "";
    answers[key] = (answers[key] ?? 0) + 1;
  }
  // Let the server forget these before the next scenario.
  await sleep(1_000);
  return {
    scenario,
    opened: held.length,
    closedByServer: closeMs.length,
    admitted,
    rssBaselineMiB: mib(baseline),
    rssPeakDeltaMiB: mib(peak - baseline),
    rssAfterGcDeltaMiB: mib(afterGc - baseline),
    closeMsP50: closeMs[Math.floor(closeMs.length / 2)],
    closeMsMax: closeMs.at(-1),
    answers,
  };
}

/** One scenario's figures on one line. */
function describe(r: ScenarioResult): string {
  return (
    `${r.opened} opened, ${r.closedByServer} closed by the server` +
    (r.admitted !== undefined ? `, ${r.admitted} admitted` : "") +
    `; RSS peak +${r.rssPeakDeltaMiB} MiB, after GC +${r.rssAfterGcDeltaMiB} MiB (baseline ${r.rssBaselineMiB} MiB)` +
    (r.closeMsMax !== undefined
      ? `; closed after p50 ${r.closeMsP50} ms, max ${r.closeMsMax} ms`
      : "") +
    `; answers ${JSON.stringify(r.answers)}`
  );
}

/** Runs the scenarios, prints and stores the result. */
export async function runHostile(o: HostileOptions): Promise<void> {
  await withHarness(
    { scenario: "hostile", serverEnv: o.env, fdLimit: o.connections + 2048 },
    async (h) => {
      const scenarios: ScenarioResult[] = [];
      for (const [i, scenario] of o.scenarios.entries()) {
        if (i > 0) await h.restartServer();
        const r = await runScenario(h.server, scenario, o);
        scenarios.push(r);
        h.log(`${scenario}: ${describe(r)}`);
      }
      await h.stopProcesses();
      const problems = scenarios
        .filter((r) => r.scenario !== "watch" && r.closedByServer < r.opened)
        .map(
          (r) =>
            `${r.scenario}: ${r.opened - r.closedByServer} of ${r.opened} not closed by the server within ${o.waitS} s`,
        );
      const record = makeRecord(h, o, { scenarios } satisfies HostileResult, problems, 2);
      const rows = scenarios.map((r): [string, string] => [r.scenario, describe(r)]);
      finish(h, record, rows, o.save);
    },
  );
}
