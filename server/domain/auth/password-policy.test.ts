/** Unit tests of the password policy. */
import { describe, expect, it } from "vitest";
import { passwordProblem } from "./password-policy.js";

describe("passwordProblem", () => {
  it("refuses short, common and username passwords with a field violation", () => {
    expect(passwordProblem("short", "alice")?.field).toBe("password");
    expect(passwordProblem("password", "alice")?.description).toMatch(/most common/);
    expect(passwordProblem("PassWord1", "alice")?.description).toMatch(/most common/);
    expect(passwordProblem("12345678", "alice")?.description).toMatch(/most common/);
    expect(passwordProblem("alice-the-great", "Alice-The-Great")?.description).toMatch(/username/);
    expect(passwordProblem("a".repeat(11), "alice", 12)?.description).toMatch(/at least 12/);
  });

  it("accepts a long uncommon one, counting code points", () => {
    expect(passwordProblem("correct horse battery", "alice")).toBeUndefined();
    expect(passwordProblem("🔑🔑🔑🔑🔑🔑🔑🔑", "alice")).toBeUndefined();
    expect(passwordProblem("🔑🔑🔑🔑", "alice")?.description).toMatch(/at least 8/);
  });
});
