// Structured JSON logs: one line per event with level, time and msg. The logger is passed to
// every component; nothing logs through a module singleton.
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

export interface LoggerOptions {
  level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "meshplane" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/** A logger that drops everything, for unit tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
