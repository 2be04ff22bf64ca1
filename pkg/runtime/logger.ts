/**
 * Logging: pino, structured. Components take a Logger; the server logs at `info` to stderr,
 * tests and simulations stay silent unless `BERTH_LOG` names a level.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

/** A logger at `level` (default from `$BERTH_LOG`, else `silent`), writing JSON lines to stderr. */
export function createLogger(level?: string, name = 'berth'): Logger {
  return pino({ name, level: level ?? process.env.BERTH_LOG ?? 'silent' }, pino.destination(2));
}

/** A logger that writes nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
