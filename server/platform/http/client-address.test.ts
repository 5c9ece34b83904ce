/** Unit tests of the client address: X-Forwarded-For only through trusted proxies. */
import { describe, expect, it } from "vitest";
import { TrustedProxies } from "./client-address.js";

describe("TrustedProxies.clientAddress", () => {
  it("takes the socket's address when no proxy is trusted, whatever the header says", () => {
    const p = new TrustedProxies([]);
    expect(p.clientAddress("203.0.113.7", "1.2.3.4")).toBe("203.0.113.7");
    expect(p.clientAddress("::ffff:203.0.113.7", undefined)).toBe("203.0.113.7");
    expect(p.clientAddress(undefined, "1.2.3.4")).toBe("unknown");
  });

  it("believes a trusted proxy's hop and nothing the client wrote before it", () => {
    const p = new TrustedProxies(["10.0.0.0/8", "192.0.2.1"]);
    // client forged "6.6.6.6"; the proxy appended the real peer 198.51.100.9
    expect(p.clientAddress("10.1.2.3", "6.6.6.6, 198.51.100.9")).toBe("198.51.100.9");
    // two trusted proxies in a row
    expect(p.clientAddress("192.0.2.1", ["6.6.6.6, 198.51.100.9", "10.9.9.9"])).toBe(
      "198.51.100.9",
    );
    // an untrusted peer's header is ignored
    expect(p.clientAddress("198.51.100.20", "6.6.6.6")).toBe("198.51.100.20");
    // garbage stops the walk at the last trusted word
    expect(p.clientAddress("10.1.2.3", "not-an-ip")).toBe("10.1.2.3");
    // only proxies in the chain: the leftmost one
    expect(p.clientAddress("10.1.2.3", "10.0.0.5")).toBe("10.0.0.5");
  });

  it("matches IPv6 ranges and IPv4-mapped peers", () => {
    const p = new TrustedProxies(["2001:db8::/32", "127.0.0.1"]);
    expect(p.clientAddress("2001:db8::1", "2001:db9::5")).toBe("2001:db9::5");
    expect(p.clientAddress("::ffff:127.0.0.1", "203.0.113.1")).toBe("203.0.113.1");
  });
});
