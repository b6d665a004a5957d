import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config';

export type { Logger };

/**
 * Structured logs; request-scoped children add `requestId` to every line. JSON lines for machines
 * (production, tests, anything piped), readable coloured lines in development on a terminal.
 */
export function createLogger(config: Pick<Config, 'logLevel'> & Partial<Pick<Config, 'nodeEnv'>>, destination: DestinationStream & { isTTY?: boolean } = process.stdout): Logger {
  const options = { level: config.logLevel, base: { service: 'kartoteka' } };
  if (config.nodeEnv === 'development' && destination.isTTY) {
    return pino(options, pretty({ destination, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service' }));
  }
  return pino(options, destination);
}

/** Lines in a frame, for the few things a person starting the server must not miss among the logs. */
export function boxed(lines: string[]): string {
  const width = Math.max(...lines.map((line) => line.length));
  const rule = '─'.repeat(width + 2);
  return [`┌${rule}┐`, ...lines.map((line) => `│ ${line.padEnd(width)} │`), `└${rule}┘`].join('\n') + '\n';
}

/** Writes a framed notice straight to standard output, outside the log stream. */
export function announce(lines: string[]): void {
  process.stdout.write(`\n${boxed(lines)}\n`);
}
