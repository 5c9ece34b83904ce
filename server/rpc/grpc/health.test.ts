import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { countSubscriptions } from "../../../test/support/health.js";
import { HealthMonitor, registerHealth, ServingStatus } from "./health.js";

const monitors: HealthMonitor[] = [];
afterEach(() => {
  for (const m of monitors.splice(0)) m.stop();
});

/** A monitor over one switchable check, probing every 5ms. */
function setup(opts: { shutdownSignal?: AbortSignal } = {}) {
  const db = { ok: true };
  const monitor = new HealthMonitor({
    checks: {
      db: async () => {
        if (!db.ok) throw new Error("db down");
      },
    },
    intervalMs: 5,
    timeoutMs: 50,
  });
  monitors.push(monitor);
  const subscriptions = countSubscriptions(monitor);
  const transport = createRouterTransport((router) =>
    registerHealth(router, monitor, { services: ["chat.v1.AuthService"], ...opts }),
  );
  return { db, monitor, subscriptions, client: createClient(Health, transport) };
}

describe("HealthMonitor", () => {
  it("is NOT_SERVING until the first round, then follows the checks", async () => {
    const { db, monitor } = setup();
    expect(monitor.current()).toBe(ServingStatus.NOT_SERVING);
    monitor.start();
    await monitor.ready();
    expect(monitor.current()).toBe(ServingStatus.SERVING);

    const seen: ServingStatus[] = [];
    monitor.subscribe((s) => seen.push(s));
    db.ok = false;
    await vi.waitFor(() => expect(monitor.current()).toBe(ServingStatus.NOT_SERVING));
    db.ok = true;
    await vi.waitFor(() => expect(monitor.current()).toBe(ServingStatus.SERVING));
    // Deduplicated: one notification per change, not per round.
    expect(seen).toEqual([ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
  });

  it("logs when the set of failing checks changes, not every round", async () => {
    const logger = { info: vi.fn(), warn: vi.fn() };
    const db = { ok: false };
    const monitor = new HealthMonitor({
      checks: {
        db: async () => {
          if (!db.ok) throw new Error("db down");
        },
      },
      intervalMs: 2,
      logger,
    });
    monitors.push(monitor);
    monitor.start();
    await monitor.ready();
    await new Promise((r) => setTimeout(r, 30));
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[0]).toEqual({
      failures: [{ name: "db", error: "db down" }],
    });
    db.ok = true;
    await vi.waitFor(() => expect(logger.info).toHaveBeenCalledTimes(1));
  });

  it("fails checks that time out or throw synchronously", async () => {
    let aborted = false;
    const monitor = new HealthMonitor({
      checks: {
        slow: (signal) =>
          new Promise((resolve) => {
            signal.addEventListener("abort", () => {
              aborted = true;
              resolve();
            });
          }),
      },
      timeoutMs: 10,
    });
    monitors.push(monitor);
    monitor.start();
    await monitor.ready();
    expect(monitor.current()).toBe(ServingStatus.NOT_SERVING);
    expect(aborted).toBe(true);

    const sync = new HealthMonitor({
      checks: {
        boom: () => {
          throw new Error("sync");
        },
      },
    });
    monitors.push(sync);
    sync.start();
    await sync.ready();
    expect(sync.current()).toBe(ServingStatus.NOT_SERVING);
  });

  it("stays NOT_SERVING once shutting down", async () => {
    const { monitor } = setup();
    monitor.start();
    await monitor.ready();
    monitor.setShuttingDown();
    expect(monitor.current()).toBe(ServingStatus.NOT_SERVING);
    monitor.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(monitor.current()).toBe(ServingStatus.NOT_SERVING);
  });
});

describe("grpc.health.v1.Health", () => {
  it("Check reports the monitor status for the server and known services", async () => {
    const { db, monitor, client } = setup();
    monitor.start();
    await monitor.ready();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await client.check({ service: "chat.v1.AuthService" })).status).toBe(
      ServingStatus.SERVING,
    );

    db.ok = false;
    await vi.waitFor(async () =>
      expect((await client.check({})).status).toBe(ServingStatus.NOT_SERVING),
    );
  });

  it("Check rejects unknown services with NOT_FOUND", async () => {
    const { client } = setup();
    const err = await client.check({ service: "nope.v1.Nope" }).catch((e) => e);
    expect(ConnectError.from(err).code).toBe(Code.NotFound);
  });

  it("List reports every known service", async () => {
    const { monitor, client } = setup();
    monitor.start();
    await monitor.ready();
    const res = await client.list({});
    expect(Object.keys(res.statuses).sort()).toEqual(["", "chat.v1.AuthService"]);
    expect(res.statuses[""]?.status).toBe(ServingStatus.SERVING);
  });

  it("Watch sends the current status, then each change", async () => {
    const s = setup();
    const { db, monitor, client } = s;
    monitor.start();
    await monitor.ready();
    const ctl = new AbortController();
    const stream = client.watch({ service: "" }, { signal: ctl.signal })[Symbol.asyncIterator]();

    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);
    db.ok = false;
    expect((await stream.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    db.ok = true;
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);

    // The client leaving ends the handler, which releases its subscription.
    ctl.abort();
    const end = await stream.next().catch((e) => e);
    expect(ConnectError.from(end).code).toBe(Code.Canceled);
    await vi.waitFor(() => expect(s.subscriptions.active).toBe(0));
  });

  it("Watch of an unknown service sends SERVICE_UNKNOWN and stays open", async () => {
    const s = setup();
    const ctl = new AbortController();
    const stream = s.client
      .watch({ service: "nope.v1.Nope" }, { signal: ctl.signal })
      [Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVICE_UNKNOWN);

    const next = stream.next();
    const pending = await Promise.race([
      next.then(() => "settled"),
      new Promise((r) => setTimeout(() => r("open"), 50)),
    ]);
    expect(pending).toBe("open");
    ctl.abort();
    await next.catch(() => {});
    await vi.waitFor(() => expect(s.subscriptions.active).toBe(0));
  });

  it("Watch ends with UNAVAILABLE when the server shuts down", async () => {
    const shutdown = new AbortController();
    const s = setup({ shutdownSignal: shutdown.signal });
    s.monitor.start();
    await s.monitor.ready();
    const stream = s.client.watch({ service: "chat.v1.AuthService" })[Symbol.asyncIterator]();
    expect((await stream.next()).value?.status).toBe(ServingStatus.SERVING);

    shutdown.abort();
    // Watchers are told to drain first, then the stream ends.
    expect((await stream.next()).value?.status).toBe(ServingStatus.NOT_SERVING);
    const err = await stream.next().catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toBe("server is shutting down");
    expect(s.subscriptions.active).toBe(0);

    // New watchers during shutdown are turned away at once; Check says NOT_SERVING.
    const late = await s.client
      .watch({ service: "" })
      [Symbol.asyncIterator]()
      .next()
      .catch((e) => e);
    expect(ConnectError.from(late).code).toBe(Code.Unavailable);
    expect((await s.client.check({})).status).toBe(ServingStatus.NOT_SERVING);
  });
});
