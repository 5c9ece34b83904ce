/**
 * The faults of a chaos run, in the order they are injected, each with
 * what it breaks, how it ends, and the moment "back to live" is measured
 * from:
 *
 * | fault                | what happens                                                               | measured from          | subscribers measured             |
 * | -------------------- | -------------------------------------------------------------------------- | ---------------------- | -------------------------------- |
 * | `kill9`              | SIGKILL an instance; started again on its port after the outage           | the kill               | those on the killed instance     |
 * | `redis-kill`         | SIGKILL Redis (no persistence: everything in it is gone); started again    | Redis accepts again    | all                              |
 * | `mariadb-kill`       | SIGKILL MariaDB; started again on the same data (InnoDB crash recovery)    | MariaDB accepts again  | all                              |
 * | `sigterm`            | SIGTERM an instance (graceful shutdown); started again after the outage    | the signal             | those on the stopped instance    |
 * | `sigstop`            | SIGSTOP an instance for the pause, then SIGCONT                            | SIGCONT                | those on the paused instance     |
 * | `restart-redis-down` | SIGKILL Redis, SIGTERM an instance and start it while Redis is down, then Redis again | Redis accepts again | all                 |
 *
 * "Subscribers measured" excludes those away on purpose at that moment.
 * For `sigstop` the stall is measured too: from SIGSTOP, over the
 * subscribers on the paused instance, until each receives a message
 * committed after SIGSTOP (on the other instance once it noticed the
 * silence, or on this one after SIGCONT).
 * Midway through every outage a quarter of the subscribers that are live
 * drop their stream and come back within a second or so, so clients
 * reconnect during every outage, not only those the fault cut off.
 */

import { nowMs, sleep } from "./clients.js";
import type { Cluster, ServerInstance } from "./cluster.js";
import type { Random } from "./random.js";
import type { ChaosSubscriber } from "./subscriber.js";

/** Names of the faults, in their order. */
export const faultNames = [
  "kill9",
  "redis-kill",
  "mariadb-kill",
  "sigterm",
  "sigstop",
  "restart-redis-down",
] as const;
export type FaultName = (typeof faultNames)[number];

/** What a fault needs. */
export interface FaultContext {
  cluster: Cluster;
  subscribers: readonly ChaosSubscriber[];
  random: Random;
  /** How long a killed process stays down (instance, Redis, MariaDB). */
  outageMs: number;
  /** How long SIGSTOP lasts. */
  pauseMs: number;
  /** Bound on a graceful shutdown before SIGKILL. */
  graceMs: number;
  log(line: string): void;
  /**
   * From `since`, measure how long `subscribers` take to receive a message
   * committed after `since`.
   */
  measureFrom(since: number, subscribers: ChaosSubscriber[]): void;
  /**
   * From `since` (the fault's start), measure how long `subscribers` go
   * without a message committed after `since`: how long their feed stalls.
   */
  measureStall(since: number, subscribers: ChaosSubscriber[]): void;
  /** One line on the database's open transactions and lock waits (MariaDB running). */
  transactions(): Promise<string>;
}

/** What happened, for the report. */
export interface FaultSteps {
  /** The instance it hit, if any. */
  target?: string;
  /** Milliseconds from the fault's start until everything was running again. */
  recoveredAfterMs: number;
  steps: string[];
}

/** The instance a fault hits: the first and third instance faults hit one instance, the others the other. */
export function targetOf(name: FaultName, cluster: Cluster, swap: boolean): ServerInstance {
  const first = name === "kill9" || name === "sigstop";
  const i = (first ? 0 : 1) ^ (swap ? 1 : 0);
  return cluster.instances[i % cluster.instances.length] as ServerInstance;
}

/** Runs one fault to its end (everything restarted); returns its steps. */
export async function runFault(
  name: FaultName,
  ctx: FaultContext,
  swap: boolean,
): Promise<FaultSteps> {
  const t0 = nowMs();
  const steps: string[] = [];
  const step = (s: string) => {
    steps.push(`+${Math.round(nowMs() - t0)} ms ${s}`);
    ctx.log(`  ${name}: ${s}`);
  };
  const on = (inst: ServerInstance) =>
    ctx.subscribers.filter((s) => s.instance === inst.index && !s.absent);
  const everyone = () => ctx.subscribers.filter((s) => !s.absent);
  /**
   * Halfway through an outage, some clients drop and come back, and the
   * database's open transactions are looked at (a frozen instance may hold
   * row locks that stop every other instance's writes).
   */
  const outage = async (ms: number, database = true) => {
    await sleep(ms / 2);
    const dropped = reconnectSome(ctx);
    step(`${dropped} subscribers reconnect`);
    if (database) step(await ctx.transactions());
    await sleep(ms / 2);
  };
  const { cluster } = ctx;
  let target: ServerInstance | undefined;
  switch (name) {
    case "kill9": {
      target = targetOf(name, cluster, swap);
      const hit = on(target);
      const at = nowMs();
      await target.kill();
      ctx.measureFrom(at, hit);
      step(`SIGKILL instance ${target.name} (${hit.length} subscribers on it)`);
      await outage(ctx.outageMs);
      await target.start();
      step(`instance ${target.name} serving again (pid ${target.pid})`);
      break;
    }
    case "redis-kill": {
      await cluster.redis.kill();
      step("SIGKILL Redis");
      await outage(ctx.outageMs);
      await cluster.redis.start();
      ctx.measureFrom(nowMs(), everyone());
      step("Redis accepts connections again");
      break;
    }
    case "mariadb-kill": {
      await cluster.mariadb.kill();
      step("SIGKILL MariaDB");
      await outage(ctx.outageMs, false);
      await cluster.mariadb.start();
      ctx.measureFrom(nowMs(), everyone());
      step("MariaDB accepts connections again (after crash recovery)");
      break;
    }
    case "sigterm": {
      target = targetOf(name, cluster, swap);
      const hit = on(target);
      const at = nowMs();
      const ending = target.terminate(ctx.graceMs);
      ctx.measureFrom(at, hit);
      const { exit, ms } = await ending;
      step(
        `SIGTERM instance ${target.name} (${hit.length} subscribers on it): exited ${exit} after ${Math.round(ms)} ms`,
      );
      await outage(Math.max(0, ctx.outageMs - ms));
      await target.start();
      step(`instance ${target.name} serving again (pid ${target.pid})`);
      break;
    }
    case "sigstop": {
      target = targetOf(name, cluster, swap);
      const hit = on(target);
      const stoppedAt = nowMs();
      target.pause();
      ctx.measureStall(stoppedAt, hit);
      step(`SIGSTOP instance ${target.name} (${hit.length} subscribers on it)`);
      await outage(ctx.pauseMs);
      const at = nowMs();
      target.resume();
      // Measured from SIGCONT: those still on it, and those that left it meanwhile.
      ctx.measureFrom(at, [...new Set([...hit.filter((s) => !s.absent), ...on(target)])]);
      step(`SIGCONT instance ${target.name}`);
      break;
    }
    case "restart-redis-down": {
      target = targetOf(name, cluster, swap);
      await cluster.redis.kill();
      step("SIGKILL Redis");
      await sleep(Math.min(1_000, ctx.outageMs / 4));
      const { exit, ms } = await target.terminate(ctx.graceMs);
      step(`SIGTERM instance ${target.name}: exited ${exit} after ${Math.round(ms)} ms`);
      await target.start("listening");
      step(`instance ${target.name} listening again with Redis down (pid ${target.pid})`);
      // Clients reach it while Redis is still down.
      await outage(Math.max(2_000, ctx.outageMs / 2));
      await cluster.redis.start();
      ctx.measureFrom(nowMs(), everyone());
      step("Redis accepts connections again");
      break;
    }
  }
  return {
    ...(target ? { target: target.name } : {}),
    recoveredAfterMs: Math.round(nowMs() - t0),
    steps,
  };
}

/** Drops a quarter of the live subscribers for 0.1-1.5 s; returns how many. */
function reconnectSome(ctx: FaultContext): number {
  let n = 0;
  for (const s of ctx.subscribers) {
    if (s.live && ctx.random.next() < 0.25 && s.drop(ctx.random.between(100, 1_500))) n += 1;
  }
  return n;
}
