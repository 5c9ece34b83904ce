/**
 * Setup file of the `unit` test project (vitest.config.ts): any attempt to
 * open a TCP connection to MariaDB or Redis (their default ports, and those
 * of TEST_MYSQL_URL, TEST_REDIS_URL, DATABASE_URL and REDIS_URL) throws, so
 * a unit test that needs a service fails at once, wherever it runs, instead
 * of passing only where the services happen to be up.
 */
import net from "node:net";

const blocked = new Set([3306, 6379]);
for (const name of ["TEST_MYSQL_URL", "TEST_REDIS_URL", "DATABASE_URL", "REDIS_URL"]) {
  const value = process.env[name];
  if (!value) continue;
  try {
    const port = Number(new URL(value).port);
    if (port > 0) blocked.add(port);
  } catch {
    // Not a URL: nothing to block.
  }
}

/** The port a Socket#connect call asks for, in any of its forms. */
function portOf(args: unknown[]): number | undefined {
  const [first] = args;
  if (Array.isArray(first)) return portOf(first);
  if (typeof first === "number" || typeof first === "string") return Number(first);
  if (typeof first === "object" && first !== null && "port" in first) {
    return Number((first as { port: unknown }).port);
  }
  return undefined;
}

// Setup files run before every test file, and a worker may run several.
const guarded = Symbol.for("protochat.no-services");
const proto = net.Socket.prototype as net.Socket & { [guarded]?: true };
if (!proto[guarded]) {
  proto[guarded] = true;
  const connect = proto.connect;
  proto.connect = function (this: net.Socket, ...args: unknown[]) {
    const port = portOf(args);
    if (port !== undefined && blocked.has(port)) {
      throw new Error(
        `a unit test tried to connect to port ${port} (MariaDB or Redis); ` +
          "tests that need a service belong in the integration project",
      );
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
}
