/** Structured JSON logs (pino): one object per line, ready for any collector. */
import { type Logger, pino } from "pino";

/** Creates the process logger. Secrets are redacted even if logged by mistake. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      // The pid tells the processes of one server apart (WORKERS > 1).
      base: { service: "chat", pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          "password",
          "*.password",
          "token",
          "*.token",
          "accessToken",
          "*.accessToken",
          "authorization",
          "*.authorization",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

export type { Logger };
