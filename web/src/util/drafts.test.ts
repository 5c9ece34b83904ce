// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from "vitest";
import { loadDraft, saveDraft } from "./drafts.js";

describe("drafts", () => {
  beforeEach(() => sessionStorage.clear());
  it("keeps a draft per user and room, and drops empty ones", () => {
    saveDraft("1", "10", "hello");
    saveDraft("1", "11", "other");
    expect(loadDraft("1", "10")).toBe("hello");
    expect(loadDraft("1", "11")).toBe("other");
    expect(loadDraft("2", "10")).toBe("");
    saveDraft("1", "10", "  ");
    expect(loadDraft("1", "10")).toBe("");
    expect(sessionStorage.length).toBe(1);
  });
});
