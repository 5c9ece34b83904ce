/** Watching a health monitor from tests. */
import type { HealthMonitor } from "../../server/rpc/grpc/health.js";

/**
 * Counts the monitor's open subscriptions (one per Health.Watch stream),
 * so a test sees handlers release them when their streams end.
 */
export function countSubscriptions(monitor: HealthMonitor): { active: number } {
  const subscriptions = { active: 0 };
  const subscribe = monitor.subscribe.bind(monitor);
  monitor.subscribe = (listener) => {
    subscriptions.active++;
    const off = subscribe(listener);
    return () => {
      subscriptions.active--;
      off();
    };
  };
  return subscriptions;
}
