// The logging interface the attestation code uses. The plugin layer provides
// an hclog-JSON implementation on stderr; the CLI a plain one. Fields are flat
// key/value pairs; values are stringified by the implementation.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  trace(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  // Whether `level` would be written: lets a hot path skip building fields.
  // Absent means "maybe": build them.
  enabled?(level: LogLevel): boolean;
}

export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

// A logger that drops everything (tests, and the CLI when --json owns stdout).
export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  enabled: () => false,
};
