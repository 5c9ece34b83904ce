/**
 * The command line of every benchmark (`npm run bench -- <scenario>`,
 * `npm run chaos`): each scenario declares its options once, as specs
 * with defaults, bounds and help; this file parses `--name value` against
 * them, reports every problem at once with the usage, and writes the
 * usage from the same specs, so a default is written in one place only.
 */
import { parseArgs } from "node:util";

/** What every option has. */
interface Described {
  /** One line (wrapped in the usage) saying what it does. */
  help: string;
  /** Placeholder after the name in the usage, e.g. `N`. */
  arg?: string;
  /** The default as the usage shows it, when the value itself would not say it. */
  shown?: string;
}

/**
 * One option: an integer within bounds, one of some choices, a
 * comma-separated list of choices, free text, repeatable `K=V` pairs, or a
 * flag (false unless given).
 */
export type OptionSpec =
  | (Described & { kind: "int"; default: number; min: number; max: number })
  | (Described & { kind: "choice"; default: string; choices: readonly string[] })
  | (Described & {
      kind: "list";
      default: readonly string[];
      choices: readonly string[];
      /** `none` (or nothing) stands for the empty list. */
      none?: boolean;
    })
  | (Described & { kind: "text"; default: string })
  | (Described & { kind: "pairs" })
  | (Described & { kind: "flag" });

/** A command's options by name (without the leading `--`). */
export type OptionSpecs = Record<string, OptionSpec>;

/** Parsed values: numbers, strings, string lists, records of pairs, booleans. */
export type Parsed<S extends OptionSpecs> = {
  [K in keyof S]: S[K] extends { kind: "int" }
    ? number
    : S[K] extends { kind: "flag" }
      ? boolean
      : S[K] extends { kind: "list" }
        ? string[]
        : S[K] extends { kind: "pairs" }
          ? Record<string, string>
          : string;
};

/** A command: what follows `npm run`, a paragraph before the options, the options, notes after. */
export interface Command<S extends OptionSpecs> {
  /** E.g. `bench -- sends`. */
  name: string;
  intro?: string;
  options: S;
  /** Limits and environment variables, after the options. */
  notes?: string;
}

type Extra = Partial<Pick<Described, "arg" | "shown">>;

/** An integer from `min` to `max`. */
export function int(def: number, min: number, max: number, help: string, extra: Extra = {}) {
  return { kind: "int", default: def, min, max, help, ...extra } as const;
}

/** One of `choices`. */
export function choice<C extends readonly string[]>(
  def: C[number],
  choices: C,
  help: string,
  extra: Extra = {},
) {
  return { kind: "choice", default: def, choices, help, ...extra } as const;
}

/** A comma-separated list of `choices`, in the order given; `none` when allowed. */
export function list(
  def: readonly string[],
  choices: readonly string[],
  help: string,
  extra: Extra & { none?: boolean } = {},
) {
  return { kind: "list", default: def, choices, help, ...extra } as const;
}

/** Free text. */
export function text(def: string, help: string, extra: Extra = {}) {
  return { kind: "text", default: def, help, ...extra } as const;
}

/** `--name K=V`, repeatable. */
export function pairs(help: string, extra: Extra = {}) {
  return { kind: "pairs", help, ...extra } as const;
}

/** A flag. */
export function flag(help: string) {
  return { kind: "flag", help } as const;
}

/** `--note` and `--no-save`: what every stored scenario has. */
export function recordOptions(scenario: string) {
  return {
    note: text("", "stored with the result", { arg: "TEXT" }),
    "no-save": flag(`do not append to bench/results/${scenario}.jsonl`),
  };
}

/** The environment a scenario with a server process reads. */
export const serverEnvironment =
  "environment: SERVER_NODE_OPTIONS (node options of the server, e.g. --cpu-prof),\n" +
  "             BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306),\n" +
  "             BENCH_REDIS_URL (the server uses Redis; default none),\n" +
  "             RATE_LIMITS_ENABLED (default false here) and RATE_* (docs/limits.md)";

/** Column of the help texts in the usage. */
const helpColumn = 24;
/** Width the usage is wrapped to. */
const width = 80;

/** The usage text of `cmd`. */
export function usage<S extends OptionSpecs>(cmd: Command<S>): string {
  const lines = [`usage: npm run ${cmd.name} [options]`, ""];
  if (cmd.intro) lines.push(cmd.intro, "");
  for (const [name, spec] of Object.entries(cmd.options)) {
    const head = `  --${name}${spec.kind === "flag" ? "" : ` ${spec.arg ?? argOf(spec)}`}`;
    const words = `${spec.help}${valuesOf(spec)}${defaultOf(spec)}`.split(" ");
    let line = head.length < helpColumn - 1 ? head.padEnd(helpColumn) : `${head}  `;
    let fresh = true;
    for (const word of words) {
      if (!fresh && line.length + 1 + word.length > width) {
        lines.push(line);
        line = " ".repeat(helpColumn);
        fresh = true;
      }
      line += fresh ? word : ` ${word}`;
      fresh = false;
    }
    lines.push(line);
  }
  if (cmd.notes) lines.push("", cmd.notes);
  return lines.join("\n");
}

function argOf(spec: OptionSpec): string {
  switch (spec.kind) {
    case "int":
      return "N";
    case "choice":
      return spec.choices.join("|");
    case "list":
      return "LIST";
    case "pairs":
      return "K=V";
    default:
      return "TEXT";
  }
}

/** The values a choice or list takes, unless its help names them all. */
function valuesOf(spec: OptionSpec): string {
  if (spec.kind !== "choice" && spec.kind !== "list") return "";
  if (spec.choices.every((c) => spec.help.includes(c))) return "";
  return spec.kind === "choice"
    ? `: ${spec.choices.join(" | ")}`
    : `: comma-separated ${spec.choices.join(",")}${spec.none ? " or none" : ""}`;
}

/** ` (default …)`, with the bound of an integer; empty for flags, pairs and empty text. */
function defaultOf(spec: OptionSpec): string {
  let shown: string;
  switch (spec.kind) {
    case "int":
      shown = `${spec.shown ?? spec.default}, at most ${spec.max}`;
      break;
    case "choice":
      shown = spec.shown ?? spec.default;
      break;
    case "list":
      shown = spec.shown ?? (spec.default.length === 0 ? "none" : spec.default.join(","));
      break;
    case "text":
      shown = spec.shown ?? spec.default;
      break;
    default:
      shown = spec.shown ?? "";
  }
  return shown === "" ? "" : ` (default ${shown})`;
}

/**
 * Parses `argv` (what follows the scenario's name) against `cmd`'s specs;
 * `check` adds problems of the values together (e.g. one option bounding
 * another). Throws with every problem and the usage.
 */
export function parseOptions<S extends OptionSpecs>(
  argv: string[],
  cmd: Command<S>,
  check: (values: Parsed<S>) => string[] = () => [],
): Parsed<S> {
  const config: Record<
    string,
    { type: "string" | "boolean"; default?: string | boolean | string[]; multiple?: boolean }
  > = {};
  for (const [name, s] of Object.entries(cmd.options)) {
    if (s.kind === "flag") config[name] = { type: "boolean", default: false };
    else if (s.kind === "pairs") config[name] = { type: "string", multiple: true, default: [] };
    else if (s.kind === "list") config[name] = { type: "string", default: s.default.join(",") };
    else config[name] = { type: "string", default: String(s.default) };
  }
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: argv, strict: true, options: config }).values as typeof values;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${usage(cmd)}`);
  }
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(cmd.options)) {
    const raw = values[name];
    switch (s.kind) {
      case "flag":
        out[name] = raw === true;
        break;
      case "int": {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < s.min || n > s.max) {
          problems.push(`--${name} ${raw}: must be an integer from ${s.min} to ${s.max}`);
        }
        out[name] = n;
        break;
      }
      case "choice":
        if (!s.choices.includes(String(raw))) {
          problems.push(`--${name} ${raw}: must be one of ${s.choices.join(", ")}`);
        }
        out[name] = String(raw);
        break;
      case "list": {
        const items = String(raw)
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean);
        const none = s.none && (items.length === 0 || (items.length === 1 && items[0] === "none"));
        const unknown = none ? [] : items.filter((x) => !s.choices.includes(x));
        if (unknown.length > 0 || (items.length === 0 && !s.none)) {
          problems.push(
            `--${name} ${raw}: ${unknown.length ? `unknown ${unknown.join(", ")}; ` : ""}use a comma-separated list of ${s.choices.join(", ")}${s.none ? ", or none" : ""}`,
          );
        }
        out[name] = none ? [] : items;
        break;
      }
      case "pairs": {
        const pairsOut: Record<string, string> = {};
        for (const p of raw as string[]) {
          const at = p.indexOf("=");
          if (at < 1) problems.push(`--${name} ${p}: must look like K=V`);
          else pairsOut[p.slice(0, at)] = p.slice(at + 1);
        }
        out[name] = pairsOut;
        break;
      }
      case "text":
        out[name] = String(raw);
    }
  }
  if (problems.length === 0) problems.push(...check(out as Parsed<S>));
  if (problems.length > 0) throw new Error(`${problems.join("\n")}\n\n${usage(cmd)}`);
  return out as Parsed<S>;
}
