/**
 * Command-line parsing shared by the sends, storm, resume and hold
 * scenarios: `--name value` options with defaults, checked integers and
 * choices, and every problem reported at once with the usage text.
 */
import { parseArgs } from "node:util";

/** One option: an integer, a choice, free text, or a flag. */
export type OptionSpec =
  | { kind: "int"; default: number; min: number; max: number }
  | { kind: "choice"; default: string; choices: readonly string[] }
  | { kind: "text"; default: string }
  | { kind: "flag" };

/** Parsed values: numbers for ints, strings for choices and text, booleans for flags. */
export type Parsed<S extends Record<string, OptionSpec>> = {
  [K in keyof S]: S[K] extends { kind: "int" }
    ? number
    : S[K] extends { kind: "flag" }
      ? boolean
      : string;
};

/** Parses `argv` against `specs`; throws with every problem and the usage. */
export function parseScenarioOptions<S extends Record<string, OptionSpec>>(
  argv: string[],
  specs: S,
  usage: string,
): Parsed<S> {
  const config: Record<string, { type: "string" | "boolean"; default?: string | boolean }> = {};
  for (const [name, s] of Object.entries(specs)) {
    config[name] =
      s.kind === "flag"
        ? { type: "boolean", default: false }
        : { type: "string", default: String(s.default) };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, strict: true, options: config }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${usage}`);
  }
  const problems: string[] = [];
  const out: Record<string, number | string | boolean> = {};
  for (const [name, s] of Object.entries(specs)) {
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
      case "text":
        out[name] = String(raw);
    }
  }
  if (problems.length > 0) throw new Error(`${problems.join("\n")}\n\n${usage}`);
  return out as Parsed<S>;
}

/** Throws `problems` with the usage, if any. */
export function rejectIf(problems: string[], usage: string): void {
  if (problems.length > 0) throw new Error(`${problems.join("\n")}\n\n${usage}`);
}
