/**
 * Command-line options of `npm run bench -- hostile`.
 */
import {
  int,
  list,
  pairs,
  parseOptions,
  recordOptions,
  serverEnvironment,
  usage,
} from "../lib/options.js";
import { type HostileScenario, hostileScenarios } from "./openers.js";

/** A validated hostile run. */
export interface HostileOptions {
  /** Connections (or streams) per scenario. */
  connections: number;
  /** Body bytes slow-bodies sends, KiB. */
  bodyKiB: number;
  scenarios: HostileScenario[];
  /** Longest wait for the server to close what a scenario opened, seconds. */
  waitS: number;
  /** Server environment over the defaults (e.g. BODY_TIMEOUT_SECONDS=5). */
  env: Record<string, string>;
  save: boolean;
  note: string;
}

const command = {
  name: "bench -- hostile",
  options: {
    connections: int(1000, 1, 25_000, "connections (or streams) per scenario"),
    "body-kib": int(
      256,
      1,
      1023,
      "body bytes sent by slow-bodies, in KiB (of the 1 MiB announced)",
    ),
    scenarios: list(
      hostileScenarios,
      hostileScenarios,
      "scenarios to run, in this order, each on a fresh server process",
    ),
    "wait-s": int(30, 1, 600, "longest wait for the server to close them, seconds"),
    env: pairs("server environment (e.g. BODY_TIMEOUT_SECONDS=5), repeatable"),
    ...recordOptions("hostile"),
  },
  notes: serverEnvironment,
};

/** Usage text. */
export const hostileUsage = usage(command);

/** Parses `argv` (the arguments after "hostile"). */
export function parseHostileOptions(argv: string[]): HostileOptions {
  const v = parseOptions(argv, command);
  return {
    connections: v.connections,
    bodyKiB: v["body-kib"],
    scenarios: v.scenarios as HostileScenario[],
    waitS: v["wait-s"],
    env: v.env,
    save: !v["no-save"],
    note: v.note,
  };
}
