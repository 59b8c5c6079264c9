// The plugin's side of spire-agent's Metrics host service: the agent offers
// it in Init (host_service_names) and serves it on the broker connection with
// id 1; we dial that unix socket. Nothing here may slow or fail an
// attestation, nor make the agent busy while it serves a workload: counters
// are summed in process and samples buffered (at most MAX_SAMPLES per flush,
// more are dropped and counted), and both are sent once per FLUSH_MS, each
// series as one unary call that is not awaited (at most MAX_IN_FLIGHT
// outstanding); errors are only counted and logged once.

import { Client, credentials } from '@grpc/grpc-js';

import { SERVICE, serviceDefinition } from './protos.js';

import type { MethodDefinition } from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import type { HostMetricsSink } from './host.js';

type Labels = readonly { name: string; value: string }[];
type Key = readonly string[];

interface MetricRequest {
  key: Key;
  val: number;
  labels: Labels;
}

const FLUSH_MS = 1_000;
const MAX_SAMPLES = 200;
const MAX_IN_FLIGHT = 256;
const CALL_TIMEOUT_MS = 2_000;

export interface HostMetricsOptions {
  // How often what was recorded is sent (tests shorten it).
  readonly flushMs?: number;
}

export class HostMetricsClient implements HostMetricsSink {
  readonly #client: Client;
  readonly #log: Logger;
  readonly #incr: MethodDefinition<MetricRequest, object>;
  readonly #sample: MethodDefinition<MetricRequest, object>;
  // Counter sums by key and label list. Callers pass the same arrays for the
  // same series (interned), so this costs no allocation per call.
  #counters = new Map<Key, Map<Labels, number>>();
  #samples: MetricRequest[] = [];
  readonly #timer: NodeJS.Timeout;
  #inFlight = 0;
  #dropped = 0;
  #failed = 0;

  constructor(socketPath: string, log: Logger, options: HostMetricsOptions = {}) {
    const def = serviceDefinition(SERVICE.metrics);
    this.#incr = def['IncrCounter'] as MethodDefinition<MetricRequest, object>;
    this.#sample = def['AddSample'] as MethodDefinition<MetricRequest, object>;
    this.#client = new Client(`unix:${socketPath}`, credentials.createInsecure());
    this.#log = log;
    this.#timer = setInterval(() => this.flush(), options.flushMs ?? FLUSH_MS);
    this.#timer.unref();
  }

  // Samples and calls not sent (buffer full, too many outstanding), and
  // calls that failed.
  get dropped(): number {
    return this.#dropped;
  }

  get failed(): number {
    return this.#failed;
  }

  incrCounter(key: Key, value: number, labels: Labels): void {
    let series = this.#counters.get(key);
    if (series === undefined) {
      series = new Map();
      this.#counters.set(key, series);
    }
    series.set(labels, (series.get(labels) ?? 0) + value);
  }

  addSample(key: Key, value: number, labels: Labels): void {
    if (this.#samples.length >= MAX_SAMPLES) {
      this.#dropped++;
      return;
    }
    this.#samples.push({ key, val: value, labels });
  }

  // Sends what was recorded since the last flush.
  flush(): void {
    const counters = this.#counters;
    const samples = this.#samples;
    this.#counters = new Map();
    this.#samples = [];
    for (const [key, series] of counters) for (const [labels, val] of series) this.#send(this.#incr, { key, val, labels });
    for (const sample of samples) this.#send(this.#sample, sample);
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
    this.#client.close();
  }

  #send(method: MethodDefinition<MetricRequest, object>, request: MetricRequest): void {
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      this.#dropped++;
      return;
    }
    this.#inFlight++;
    this.#client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      { deadline: Date.now() + CALL_TIMEOUT_MS },
      (err) => {
        this.#inFlight--;
        if (!err) return;
        if (this.#failed++ === 0) this.#log.warn('sending a metric to the agent failed; metrics may be incomplete', { error: err.message });
      },
    );
  }
}

// How long after Init the broker's host-services connection may still come.
const CONN_INFO_WAIT_MS = 5_000;

// Turns what the agent tells us (the host services it offers in Init, the
// broker's ConnInfo for id 1, in either order) into a metrics sink for the
// product, or one log line saying why there is none.
export class HostServices {
  readonly #log: Logger;
  readonly #use: (sink: HostMetricsSink | undefined) => void;
  readonly #options: HostMetricsOptions;
  #address: string | undefined;
  #offered: boolean | undefined;
  #client: HostMetricsClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #decided = false;

  constructor(log: Logger, use: (sink: HostMetricsSink | undefined) => void, options: HostMetricsOptions = {}) {
    this.#log = log;
    this.#use = use;
    this.#options = options;
  }

  // The broker's host-services connection (unix sockets only).
  connected(network: string, address: string): void {
    if (network !== 'unix' || address === '') {
      this.#log.debug('ignoring host-services connection info', { network });
      return;
    }
    this.#address = address;
    this.#decide();
  }

  // Init: the host services the agent offers.
  offered(names: readonly string[]): void {
    this.#offered = names.includes(SERVICE.metrics);
    if (this.#offered && this.#address === undefined) {
      this.#timer = setTimeout(() => this.#off('the agent offers the Metrics host service but sent no broker connection for it'), CONN_INFO_WAIT_MS);
      this.#timer.unref();
    }
    this.#decide();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#use(undefined);
    this.#client?.close();
    this.#client = undefined;
  }

  #decide(): void {
    if (this.#decided || this.#offered === undefined) return;
    if (!this.#offered) {
      this.#off('the agent offers no Metrics host service');
      return;
    }
    if (this.#address === undefined) return;
    this.#decided = true;
    clearTimeout(this.#timer);
    this.#client = new HostMetricsClient(this.#address, this.#log, this.#options);
    this.#use(this.#client);
    this.#log.info('metrics go to the agent through its Metrics host service');
  }

  #off(why: string): void {
    if (this.#decided) return;
    this.#decided = true;
    this.#log.info('metrics are off', { reason: why });
  }
}
