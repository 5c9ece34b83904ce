/**
 * The command line of `npm run admin` (server/admin-cli.ts), parsed without
 * touching anything, so it is tested on its own.
 */
import type { ApiKeyScope } from "./domain/admin/api-keys.js";

/** What the operator asked for. */
export type AdminCommand =
  | { kind: "create"; name: string; scope: ApiKeyScope }
  | { kind: "list" }
  | { kind: "revoke"; key: string }
  | { kind: "search-backfill"; afterId: bigint; window: number }
  | { kind: "help" };

/** Usage text. */
export const adminUsage = `usage:
  npm run admin -- keys create --name NAME [--scope full|read-only]   prints the new key once
  npm run admin -- keys list                                          id, name, scope, dates
  npm run admin -- keys revoke ID_OR_NAME                             revokes the key(s)
  npm run admin -- search backfill [--after-id N] [--window N]        search tokens for old messages
                                        (resumable: run again, or pass the last id it printed)`;

/** Parses `argv` (after the script name); throws an Error with the usage on nonsense. */
export function parseAdminArgs(argv: readonly string[]): AdminCommand {
  const [group, verb, ...rest] = argv;
  if (group === undefined || group === "help" || group === "--help") return { kind: "help" };
  if (group === "search") return parseSearchArgs(verb, rest);
  if (group !== "keys") throw new Error(`unknown command '${group}'\n${adminUsage}`);
  if (verb === "list" && rest.length === 0) return { kind: "list" };
  if (verb === "revoke" && rest.length === 1 && rest[0]) return { kind: "revoke", key: rest[0] };
  if (verb === "create") {
    let name: string | undefined;
    let scope: ApiKeyScope = "FULL";
    for (let i = 0; i < rest.length; i += 2) {
      const flag = rest[i];
      const value = rest[i + 1];
      if (value === undefined) throw new Error(`${flag} needs a value\n${adminUsage}`);
      if (flag === "--name") name = value;
      else if (flag === "--scope") {
        if (value === "full") scope = "FULL";
        else if (value === "read-only") scope = "READ_ONLY";
        else throw new Error(`--scope is full or read-only, not '${value}'`);
      } else throw new Error(`unknown option '${flag}'\n${adminUsage}`);
    }
    if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      throw new Error(`--name is required: 1-64 letters, digits, '.', '_' or '-'\n${adminUsage}`);
    }
    return { kind: "create", name, scope };
  }
  throw new Error(`unknown keys command\n${adminUsage}`);
}

function parseSearchArgs(verb: string | undefined, rest: readonly string[]): AdminCommand {
  if (verb !== "backfill") throw new Error(`unknown search command\n${adminUsage}`);
  let afterId = 0n;
  let window = 2000;
  for (let i = 0; i < rest.length; i += 2) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (value === undefined || !/^\d{1,19}$/.test(value)) {
      throw new Error(`${flag} needs a whole number\n${adminUsage}`);
    }
    if (flag === "--after-id") afterId = BigInt(value);
    else if (flag === "--window") {
      window = Number(value);
      if (window < 1 || window > 100_000) throw new Error("--window is 1-100000");
    } else throw new Error(`unknown option '${flag}'\n${adminUsage}`);
  }
  return { kind: "search-backfill", afterId, window };
}
