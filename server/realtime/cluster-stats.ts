/**
 * Figures of this instance (open streams by protocol, connections, message
 * and delivery rates, local users) and of the cluster. Every instance
 * writes its own figures to one Redis hash every few seconds; a reader
 * takes those reported recently (an instance that died stops reporting and
 * drops out after {@link staleAfterMs}). Without Redis the cluster is this
 * instance.
 */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { RedisGate } from "../platform/redis.js";

/** One instance's figures. */
export interface InstanceFigures {
  instanceId: string;
  streamsByProtocol: Record<string, number>;
  connections: number;
  messagesPerSecond: number;
  deliveriesPerSecond: number;
  localUsers: number;
  /** Epoch milliseconds. */
  reportedAt: number;
}

/** How often an instance writes its figures. */
export const reportEveryMs = 5_000;
/** Figures older than this belong to an instance that is gone. */
export const staleAfterMs = 15_000;

/** Reports this instance's figures and reads everyone's. */
export class ClusterStats {
  /** This process's id in the figures: host, pid and a random tag (tests run several per process). */
  readonly instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly local: (instanceId: string) => InstanceFigures,
    private readonly redis: RedisGate | undefined,
    private readonly key: string,
    private readonly logger: Logger,
  ) {}

  /** Starts reporting (no-op without Redis). */
  start(): void {
    if (!this.redis || this.timer) return;
    void this.report();
    this.timer = setInterval(() => void this.report(), reportEveryMs);
    this.timer.unref();
  }

  /** Writes this instance's figures now. */
  async report(): Promise<void> {
    if (!this.redis) return;
    const figures = this.local(this.instanceId);
    try {
      await this.redis.run((r) => r.hset(this.key, this.instanceId, JSON.stringify(figures)));
    } catch (err) {
      this.logger.debug({ err }, "cluster stats report failed");
    }
  }

  /** Every live instance's figures, this one's fresh; only this one's without Redis or while it is down. */
  async instances(now = Date.now()): Promise<InstanceFigures[]> {
    const mine = this.local(this.instanceId);
    if (!this.redis) return [mine];
    let all: Record<string, string>;
    try {
      all = await this.redis.run((r) => r.hgetall(this.key));
    } catch (err) {
      this.logger.debug({ err }, "cluster stats read failed");
      return [mine];
    }
    const out = [mine];
    const stale: string[] = [];
    for (const [id, json] of Object.entries(all)) {
      if (id === this.instanceId) continue;
      const f = JSON.parse(json) as InstanceFigures;
      if (now - f.reportedAt > staleAfterMs) stale.push(id);
      else out.push(f);
    }
    if (stale.length > 0) {
      await this.redis.run((r) => r.hdel(this.key, ...stale)).catch(() => {});
    }
    return out.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }

  /** Stops reporting and removes this instance's figures. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.redis?.available) {
      await this.redis.run((r) => r.hdel(this.key, this.instanceId)).catch(() => {});
    }
  }
}

/** Sums the figures of several instances. */
export function sumFigures(all: readonly InstanceFigures[]): InstanceFigures {
  const streams: Record<string, number> = {};
  let connections = 0;
  let messages = 0;
  let deliveries = 0;
  let users = 0;
  let reportedAt = 0;
  for (const f of all) {
    for (const [p, n] of Object.entries(f.streamsByProtocol)) streams[p] = (streams[p] ?? 0) + n;
    connections += f.connections;
    messages += f.messagesPerSecond;
    deliveries += f.deliveriesPerSecond;
    users += f.localUsers;
    reportedAt = Math.max(reportedAt, f.reportedAt);
  }
  return {
    instanceId: "cluster",
    streamsByProtocol: streams,
    connections,
    messagesPerSecond: messages,
    deliveriesPerSecond: deliveries,
    localUsers: users,
    reportedAt,
  };
}
