import { pino, type Logger } from 'pino';
import type { Config } from './config';

export type { Logger };

/** Structured JSON logs; request-scoped children add `requestId` to every line. */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino({ level: config.logLevel, base: { service: 'kartoteka' } });
}
