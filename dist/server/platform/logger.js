/** Structured JSON logs (pino): one object per line, ready for any collector. */
import { pino } from "pino";
/** Creates the process logger. Secrets are redacted even if logged by mistake. */
export function createLogger(level, destination) {
    return pino({
        level,
        base: { service: "chat" },
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
    }, destination);
}
//# sourceMappingURL=logger.js.map