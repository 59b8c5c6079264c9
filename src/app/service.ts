// The product behind the plugin protocol: holds the current configuration
// and the attestor built from it. Configure builds a complete new attestor
// first and swaps it in only on success; an Attest in flight that it
// overtakes is answered under the new configuration.

import { configFromHcl } from '../config/settings.js';
import { AttestorError, ERROR_CODES } from '../errors.js';
import { NO_METRICS } from '../attest/metrics.js';

// Configuration errors: the codes the CLI exits 2 for; Validate turns them into notes.
const EXIT_USAGE = 2;

import type { Attestor } from '../attest/attestor.js';
import type { PluginConfig } from '../attest/types.js';
import type { HclObject } from '../config/hcl-output.js';
import type { Logger, LogLevel } from '../log.js';
import type { AttestMetrics, MetricLabel } from '../attest/metrics.js';

// Where every attestor's metrics go: nowhere until the plugin host offers a
// sink (spire-agent's Metrics host service), which may come after an
// attestor was built.
class MetricsRelay implements AttestMetrics {
  target: AttestMetrics | undefined;

  incrCounter(key: readonly string[], value: number, labels: readonly MetricLabel[]): void {
    this.target?.incrCounter(key, value, labels);
  }

  addSample(key: readonly string[], value: number, labels: readonly MetricLabel[]): void {
    this.target?.addSample(key, value, labels);
  }
}

export type AttestorFactory = (config: PluginConfig, log: Logger, metrics: AttestMetrics) => Attestor;

export interface ServiceOptions {
  log: Logger;
  createAttestor: AttestorFactory;
  onLogLevel?: (level: LogLevel) => void;
  // plugin_data text -> data; in process (config/hcl.ts, loaded on first
  // use) unless given (the plugin: config/hcl-child.ts).
  decodeHcl?: (text: string) => Promise<HclObject>;
}

async function decodeInProcess(text: string): Promise<HclObject> {
  const { parseHcl } = await import('../config/hcl.js');
  return parseHcl(text);
}

export class AttestorService {
  readonly #options: ServiceOptions;
  #current: { config: PluginConfig; attestor: Attestor } | undefined;
  readonly #metrics = new MetricsRelay();

  constructor(options: ServiceOptions) {
    this.#options = options;
  }

  // Start (or stop, with undefined) sending metrics to `sink`.
  useMetrics(sink: AttestMetrics | undefined): void {
    this.#metrics.target = sink;
  }

  get config(): PluginConfig | undefined {
    return this.#current?.config;
  }

  async #buildConfig(text: string): Promise<PluginConfig> {
    return configFromHcl(await (this.#options.decodeHcl ?? decodeInProcess)(text), text);
  }

  async configure(text: string): Promise<void> {
    const config = await this.#buildConfig(text);
    const attestor = this.#options.createAttestor(config, this.#options.log, this.#metrics);
    try {
      await attestor.ready();
    } catch (err) {
      await attestor.close().catch(() => undefined);
      throw err;
    }
    const previous = this.#current;
    this.#current = { config, attestor };
    attestor.startPrefetch?.();
    this.#options.onLogLevel?.(config.logLevel);
    await previous?.attestor.close().catch(() => undefined);
  }

  async validate(text: string): Promise<{ valid: boolean; notes: string[] }> {
    try {
      const attestor = this.#options.createAttestor(await this.#buildConfig(text), this.#options.log, NO_METRICS);
      try {
        await attestor.ready();
      } finally {
        await attestor.close().catch(() => undefined);
      }
      return { valid: true, notes: [] };
    } catch (err) {
      if (err instanceof AttestorError && ERROR_CODES[err.code].exit === EXIT_USAGE) {
        return { valid: false, notes: [err.message] };
      }
      throw err;
    }
  }

  // An answer is given under the configuration current when it is given: a
  // call that Configure overtook (its attestor replaced, and closed, while
  // it waited) runs once more on the new one, and fails (CONFIG_CHANGED) if
  // that is replaced too.
  async attest(pid: number, signal: AbortSignal): Promise<readonly string[]> {
    for (let attempt = 0; ; attempt++) {
      const current = this.#current;
      if (!current) throw new AttestorError('NOT_CONFIGURED', 'plugin is not configured yet');
      try {
        const selectors = await current.attestor.attest(pid, signal);
        if (this.#current === current) return selectors;
      } catch (err) {
        if (this.#current === current || this.#current === undefined) throw err;
      }
      if (attempt > 0) throw new AttestorError('CONFIG_CHANGED', 'Configure replaced the configuration twice while this attestation ran; try again');
    }
  }

  attestNow(pid: number): readonly string[] | undefined {
    return this.#current?.attestor.attestNow?.(pid);
  }

  async close(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.attestor.close();
  }
}
