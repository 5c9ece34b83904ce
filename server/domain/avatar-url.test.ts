/** Unit tests of the avatar URL rule (server/domain/avatar-url.ts). */
import { describe, expect, it } from "vitest";
import { avatarHostAllowed, avatarUrlProblem } from "./avatar-url.js";

describe("avatar URLs", () => {
  const hosts = ["images.example.com", "*.cdn.example.net"];

  it("accepts https URLs on a listed host or a subdomain of a `*.` entry", () => {
    expect(avatarUrlProblem("https://images.example.com/a.png", hosts)).toBeUndefined();
    expect(avatarUrlProblem("https://IMAGES.example.com/a.png?x=1", hosts)).toBeUndefined();
    expect(avatarUrlProblem("https://a.b.cdn.example.net/x", hosts)).toBeUndefined();
  });

  it("refuses everything else, and every URL when no host is listed", () => {
    for (const url of [
      "http://images.example.com/a.png",
      "https://cdn.example.net/x",
      "https://images.example.com.evil.org/x",
      "https://evilimages.example.com/x",
      "https://u:p@images.example.com/x",
      "https://images.example.com:444/x",
      "https://10.0.0.1/x",
      "javascript:alert(1)",
      "not a url",
    ]) {
      expect(avatarUrlProblem(url, hosts), url).toBeDefined();
    }
    expect(avatarUrlProblem("https://images.example.com/a.png", [])).toBe(
      "avatar URLs are not accepted on this server",
    );
    expect(avatarHostAllowed("x.cdn.example.net", hosts)).toBe(true);
    expect(avatarHostAllowed("cdn.example.net", hosts)).toBe(false);
  });
});
