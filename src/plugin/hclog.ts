// hclog-shaped JSON logging on stderr. go-plugin hosts (spire-agent) parse
// each stderr line that is JSON as an hclog entry: `@level` and `@message`
// must be strings, and a `@timestamp`, if present, must carry exactly six
// fractional digits (Go layout 2006-01-02T15:04:05.000000Z07:00): with
// JavaScript's three digits the whole line would be logged as plain text.
// Other keys become log fields.

import { LOG_LEVELS } from '../log.js';

import type { LogFields, Logger, LogLevel } from '../log.js';

// 2026-01-02T03:04:05.678Z -> 2026-01-02T03:04:05.678000Z
export function hclogTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface HclogOptions {
  level: LogLevel;
  write?: (line: string) => void;
}

export class HclogLogger implements Logger {
  #threshold: number;
  readonly #write: (line: string) => void;

  constructor(options: HclogOptions) {
    this.#threshold = LOG_LEVELS.indexOf(options.level);
    this.#write = options.write ?? ((line) => process.stderr.write(line));
  }

  setLevel(level: LogLevel): void {
    this.#threshold = LOG_LEVELS.indexOf(level);
  }

  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#threshold;
  }

  trace(message: string, fields?: LogFields): void {
    this.#log('trace', message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    this.#log('debug', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.#log('info', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.#log('warn', message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.#log('error', message, fields);
  }

  #log(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (!this.enabled(level)) return;
    const entry: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(fields ?? {})) {
      // Reserved hclog keys can only come from us.
      if (value === undefined || key.startsWith('@')) continue;
      entry[key] = value;
    }
    entry['@level'] = level;
    entry['@message'] = message;
    entry['@timestamp'] = hclogTimestamp(new Date());
    this.#write(`${JSON.stringify(entry)}\n`);
  }
}
