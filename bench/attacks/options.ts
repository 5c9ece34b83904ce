/**
 * Command-line options of `npm run bench -- attacks`.
 */
import { choice, int, list, parseOptions, recordOptions, usage } from "../lib/options.js";
import { type AttackName, attackNames } from "./attacks.js";

/** A validated attacks run. */
export interface AttacksOptions {
  attacks: AttackName[];
  /** Which server configurations to attack: limits off ("before"), on (defaults), or both. */
  limits: "off" | "on" | "both";
  /** Scales every attack's size (1 = the sizes of issue 13). */
  scale: number;
  /** Seconds the login-flood attack measures the victim's sends, per phase. */
  floodSeconds: number;
  /** Login attempts per second in the login flood. */
  floodRate: number;
  save: boolean;
  note: string;
}

const command = {
  name: "bench -- attacks",
  intro:
    "Replays the abuse measured in issue 13 against a server process as production\n" +
    "starts it, with rate limits and consent off (what it was) and on (the defaults),\n" +
    "and reports what each attack achieved.",
  options: {
    attacks: list(attackNames, attackNames, "attacks to run, in this order"),
    limits: choice("both", ["both", "off", "on"] as const, "server configurations to attack"),
    "scale-percent": int(100, 1, 1000, "attack sizes in percent of the issue's"),
    "flood-s": int(8, 1, 120, "seconds the victim's sends are timed in each login-flood phase"),
    "flood-rate": int(200, 1, 100_000, "login attempts per second in the login flood (open loop)"),
    ...recordOptions("attacks"),
  },
};

/** Usage text. */
export const attacksUsage = usage(command);

/** Parses `argv` (the arguments after "attacks"). */
export function parseAttacksOptions(argv: string[]): AttacksOptions {
  const v = parseOptions(argv, command);
  return {
    attacks: v.attacks as AttackName[],
    limits: v.limits as AttacksOptions["limits"],
    scale: v["scale-percent"] / 100,
    floodSeconds: v["flood-s"],
    floodRate: v["flood-rate"],
    save: !v["no-save"],
    note: v.note,
  };
}
