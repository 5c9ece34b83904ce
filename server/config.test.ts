/** Unit tests of the configuration: the limits against hostile clients and AVATAR_HOSTS. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

describe("loadConfig: limits and avatar hosts", () => {
  it("has documented defaults, in milliseconds where set in seconds", () => {
    const c = loadConfig({});
    expect(c.limits).toEqual({
      maxConnections: 10_000,
      maxConcurrentStreams: 250,
      headersTimeoutMs: 10_000,
      bodyIdleTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 65_000,
      sessionIdleTimeoutMs: 300_000,
      maxUnauthenticatedStreams: 100,
    });
    expect(c.avatarHosts).toEqual([]);
  });

  it("reads every limit and the avatar hosts", () => {
    const c = loadConfig({
      MAX_CONNECTIONS: "50",
      HTTP2_MAX_CONCURRENT_STREAMS: "8",
      HEADERS_TIMEOUT_SECONDS: "3",
      BODY_TIMEOUT_SECONDS: "4",
      REQUEST_TIMEOUT_SECONDS: "30",
      KEEP_ALIVE_TIMEOUT_SECONDS: "5",
      HTTP2_IDLE_TIMEOUT_SECONDS: "60",
      MAX_UNAUTHENTICATED_STREAMS: "0",
      AVATAR_HOSTS: " Images.Example.com, *.cdn.example.net ,",
    });
    expect(c.limits).toEqual({
      maxConnections: 50,
      maxConcurrentStreams: 8,
      headersTimeoutMs: 3_000,
      bodyIdleTimeoutMs: 4_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      sessionIdleTimeoutMs: 60_000,
      maxUnauthenticatedStreams: 0,
    });
    expect(c.avatarHosts).toEqual(["images.example.com", "*.cdn.example.net"]);
  });

  it("reports every bad value at once", () => {
    let err: unknown;
    try {
      loadConfig({
        BODY_TIMEOUT_SECONDS: "0",
        MAX_CONNECTIONS: "many",
        AVATAR_HOSTS: "https://x.example.com/, *.com, ok.example.com",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join("\n");
    expect(problems).toContain("BODY_TIMEOUT_SECONDS");
    expect(problems).toContain("MAX_CONNECTIONS");
    expect(problems).toContain(
      "AVATAR_HOSTS has entries that are not host names: https://x.example.com/, *.com",
    );
  });
});
