import { describe, expect, it } from "vitest";
import { parseAdminArgs } from "./admin-args.js";

describe("parseAdminArgs", () => {
  it("parses create, list and revoke", () => {
    expect(parseAdminArgs(["keys", "create", "--name", "ops"])).toEqual({
      kind: "create",
      name: "ops",
      scope: "FULL",
    });
    expect(parseAdminArgs(["keys", "create", "--name", "grafana", "--scope", "read-only"])).toEqual(
      {
        kind: "create",
        name: "grafana",
        scope: "READ_ONLY",
      },
    );
    expect(parseAdminArgs(["keys", "list"])).toEqual({ kind: "list" });
    expect(parseAdminArgs(["keys", "revoke", "7"])).toEqual({ kind: "revoke", key: "7" });
    expect(parseAdminArgs([])).toEqual({ kind: "help" });
  });

  it("refuses what it does not understand", () => {
    expect(() => parseAdminArgs(["keys", "create"])).toThrow(/--name is required/);
    expect(() => parseAdminArgs(["keys", "create", "--name", "a b"])).toThrow(/--name/);
    expect(() => parseAdminArgs(["keys", "create", "--name", "x", "--scope", "root"])).toThrow(
      /--scope/,
    );
    expect(() => parseAdminArgs(["users"])).toThrow(/unknown command/);
    expect(() => parseAdminArgs(["keys", "revoke"])).toThrow(/unknown keys command/);
  });
});
