// The attestation checklist: PID -> container -> image -> selectors. Each
// step is one call; the rules that join them (which runtime serves which
// container, what happens when a step finds nothing) live here.

import { ContainerLocator } from '../process/index.js';
import { socketPathOf } from '../runtime/socket.js';
import { bindingSelectors } from '../selectors/binding.js';
import { containerSelectors } from '../selectors/container.js';
import { attestationSelectors } from '../selectors/attestation.js';
import { signatureSelectors } from '../selectors/signature.js';
import { normalizeSelectors } from '../selectors/names.js';
import { isAttestorError } from '../errors.js';
import { raceAbort, throwIfAborted } from '../util/abort.js';
import { bindImage } from './binding-step.js';
import { Verdicts } from './verdicts.js';
import { TrustSource } from '../verify/trust-source.js';
import { checkSignatures, readyTrust } from './signature-step.js';
import { countLookups, LabelSets, METRIC_KEYS, NO_LABELS, NO_METRICS } from './metrics.js';
import { StartPrefetcher } from './prefetch.js';
import { bindingKey, containerCacheKey, signatureKey, signedDigests } from './cache-keys.js';
import { ContainerFactsCache } from './container-facts.js';
import { keyOf, RuntimeRoutes } from './routes.js';

import type { PluginConfig } from './types.js';
import type { Logger } from '../log.js';
import type { ContainerMatch, Located, ProcReader } from '../process/index.js';
import type { RetryPolicy, RuntimeFindings } from '../runtime/lookup.js';
import type { RegistryApi } from '../registry/types.js';
import type { BoundImage } from '../registry/binding.js';
import type { ContainerKey, RuntimeClient } from '../runtime/types.js';
import type { BindingReport } from './binding-step.js';
import type { SignatureReport } from './signature-step.js';
import type { AttestationOutcome, AttestMetrics, MetricLabel } from './metrics.js';

// What the plugin protocol and the CLI need of an attestor.
export interface Attestor {
  // Resolves once everything the configuration names (trusted root, keys)
  // is loaded; rejects with CONFIG_INVALID otherwise.
  ready(): Promise<void>;
  attest(pid: number, signal: AbortSignal): Promise<readonly string[]>;
  // The same answer when everything it needs is known now, without waiting
  // on anything; undefined when attest() has to run (never throws).
  attestNow?(pid: number): readonly string[] | undefined;
  // Starts verifying containers as they start (prefetch_on_start); only
  // the plugin's serving attestor does, never one built to validate.
  startPrefetch?(): void;
  close(): Promise<void>;
}

// What each step found, for `attest --json` and debug logs.
export interface AttestReport {
  pid: number;
  outcome: 'host' | 'unsupported-runtime' | 'container';
  container?: ContainerMatch;
  runtime?: RuntimeFindings;
  binding?: BindingReport;
  signatures?: SignatureReport;
  selectors: readonly string[];
}

export interface AttestorDeps {
  proc: ProcReader;
  docker: RuntimeClient;
  podman: RuntimeClient;
  containerd: RuntimeClient;
  checkSocket: (socketPath: string) => Promise<void>;
  // Whether a runtime's socket is there at all (default: lstat).
  socketPresent?: (socketPath: string) => boolean;
  registry: RegistryApi;
  retry?: RetryPolicy;
  // Releases what the attestor owns (the registry client it created); an
  // injected dependency stays its caller's.
  release?: () => Promise<void>;
  // The clock of the verdict caches (tests and the benchmark simulate time).
  now?: () => number;
  // Where outcomes, latency and cache use are counted (default: nowhere).
  metrics?: AttestMetrics;
}

// How long container facts stay usable: they cannot change for a container
// ID except its first process (a restart, or the ID given to a new
// container), which is re-checked, by PID and start time, on every
// attestation. Bindings and signature verdicts: verdicts.ts.
export const CACHE_TTL = {
  containerMs: 30_000,
  // A shared load runs under its own deadline, never under one caller's.
  loadTimeoutMs: 20_000,
  maxEntries: 4096,
} as const;

// One discovery and verification of an image may take this long.
const SIGNATURE_LOAD_TIMEOUT_MS = 30_000;

const OUTCOMES: readonly AttestationOutcome[] = ['host', 'unsupported_runtime', 'container', 'bound', 'signed'];

// The outcome of an attestation that answered: how far the workload got.
function outcomeOf(report: AttestReport): AttestationOutcome {
  if (report.outcome !== 'container') return report.outcome === 'host' ? 'host' : 'unsupported_runtime';
  if (report.binding?.outcome !== 'bound') return 'container';
  const s = report.signatures;
  return s && (s.accepted.length > 0 || s.attestations.length > 0) ? 'signed' : 'bound';
}

export class PipelineAttestor implements Attestor {
  readonly #config: PluginConfig;
  readonly #deps: AttestorDeps;
  readonly #log: Logger;
  readonly #trust: TrustSource;
  readonly #verdicts: Verdicts;
  readonly #metrics: AttestMetrics;
  readonly #labels = new LabelSets();
  readonly #outcomeLabels: ReadonlyMap<AttestationOutcome, readonly MetricLabel[]>;
  readonly #containers: ContainerFactsCache;
  readonly #locator: ContainerLocator;
  readonly #routes: RuntimeRoutes;
  #prefetcher: StartPrefetcher | undefined;
  readonly #selectorMemo = new WeakMap<RuntimeFindings, { binding: BindingReport; signatures: SignatureReport | undefined; selectors: readonly string[] }>();

  // ready() rejects (CONFIG_INVALID) when the trusted root or a key file
  // cannot be loaded.
  constructor(config: PluginConfig, deps: AttestorDeps, log: Logger) {
    this.#config = config;
    this.#deps = deps;
    this.#log = log;
    this.#metrics = deps.metrics ?? NO_METRICS;
    this.#outcomeLabels = new Map(OUTCOMES.map((o) => [o, this.#labels.of(['outcome', o])]));
    this.#locator = new ContainerLocator(deps.proc, config.runtimes.containerdNamespaces);
    this.#containers = new ContainerFactsCache({
      ttlMs: CACHE_TTL.containerMs,
      maxEntries: CACHE_TTL.maxEntries,
      loadTimeoutMs: CACHE_TTL.loadTimeoutMs,
      locator: this.#locator,
      checkSocket: deps.checkSocket,
      retry: deps.retry,
      onLookup: countLookups(this.#metrics, 'container'),
    });
    this.#routes = new RuntimeRoutes(deps, config.runtimes.containerdNamespaces.length > 0);
    this.#trust = new TrustSource(config.signatures, log, (ok) =>
      this.#metrics.incrCounter(METRIC_KEYS.trustRootRefreshes, 1, this.#labels.of(['result', ok ? 'ok' : 'failed'])),
    );
    this.#verdicts = new Verdicts(config, log, deps.now, this.#metrics);
  }

  // Loads the trust, and the verdicts persisted before a restart.
  async ready(): Promise<void> {
    await readyTrust(this.#trust);
    this.#verdicts.restore();
  }

  // Signature discoveries + verifications actually performed.
  get signatureLoads(): number {
    return this.#verdicts.signatureLoads;
  }

  // Every attestation is counted by outcome and timed; a failed one is
  // `denied` with its error code.
  async attest(pid: number, signal: AbortSignal): Promise<readonly string[]> {
    const started = performance.now();
    try {
      const report = await this.explain(pid, signal);
      this.#count(this.#outcomeLabels.get(outcomeOf(report)) ?? NO_LABELS, started);
      return report.selectors;
    } catch (err) {
      const reason = isAttestorError(err) ? err.code : 'INTERNAL';
      this.#count(this.#labels.of(['outcome', 'denied'], ['reason', reason]), started);
      throw err;
    }
  }

  // The warm path. It makes every check attest() makes: the workload's
  // cgroup file read and matched, the container's first process's read and
  // compared, and the container facts, binding and signature verdict taken
  // from the caches under their usual rules; it only skips what waits (a
  // runtime or registry call, a refresh that is due) and with it the
  // PID-reuse re-read, whose window (the waits) is not there. Anything else,
  // an error included, is left to attest().
  attestNow(pid: number): readonly string[] | undefined {
    const started = performance.now();
    let report: AttestReport | undefined;
    try {
      const located = this.#locator.locate(pid);
      report = this.#unserved(pid, located) ?? (located.kind === 'container' ? this.#fromCaches(pid, located) : undefined);
    } catch {
      return undefined;
    }
    if (report === undefined) return undefined;
    this.#count(this.#outcomeLabels.get(outcomeOf(report)) ?? NO_LABELS, started);
    return report.selectors;
  }

  #count(labels: readonly MetricLabel[], started: number): void {
    this.#metrics.incrCounter(METRIC_KEYS.attestations, 1, labels);
    this.#metrics.addSample(METRIC_KEYS.attestationLatencyMs, performance.now() - started, NO_LABELS);
  }

  async explain(pid: number, signal: AbortSignal): Promise<AttestReport> {
    const located = this.#locator.locate(pid);
    const unserved = this.#unserved(pid, located);
    if (unserved !== undefined || located.kind !== 'container') return unserved ?? { pid, outcome: 'host', selectors: [] };
    const cached = this.#fromCaches(pid, located);
    if (cached !== undefined) return cached;

    throwIfAborted(signal);
    const { runtime, init } = await this.#containers.confirmedFor(this.#routes.for(located.match), keyOf(located.match), pid, located, signal);
    const { binding, signatures } = await this.#imageChecks(runtime, signal);

    // Last: the PID, or the container's first one, may have exited and been
    // reused during the lookups.
    this.#locator.confirmSame(pid, located, init);
    throwIfAborted(signal);
    return this.#report(pid, located.match, runtime, binding, signatures);
  }

  // The answer for a PID that no runtime of ours serves: not a container
  // (no selectors, no error), or one of a runtime not served. Undefined for
  // a container to check.
  #unserved(pid: number, located: Located): AttestReport | undefined {
    if (located.kind === 'host') return { pid, outcome: 'host', selectors: [] };
    if (this.#routes.for(located.match).length > 0) return undefined;
    const match = located.match;
    this.#log.debug('container runtime not served', { pid, container_id: match.id, runtime: match.runtimeHint });
    return { pid, outcome: 'unsupported-runtime', container: match, selectors: [] };
  }

  // The report from the caches alone, when each finding is there now and
  // the workload is in the cached container's cgroup; undefined otherwise.
  #fromCaches(pid: number, located: Extract<Located, { kind: 'container' }>): AttestReport | undefined {
    const containerKey = containerCacheKey(this.#routes.for(located.match), keyOf(located.match));
    const runtime = this.#containers.cachedFor(containerKey, pid, located);
    if (runtime === undefined) return undefined;
    const known = this.#verdicts.known(bindingKey(runtime), this.#trust.loaded);
    if (known === undefined) return undefined;
    this.#containers.hit(containerKey);
    return this.#report(pid, located.match, runtime, known.binding, known.signatures);
  }

  #report(pid: number, match: ContainerMatch, runtime: RuntimeFindings, binding: BindingReport, signatures: SignatureReport | undefined): AttestReport {
    const selectors = this.#selectorsOf(runtime, binding, signatures);
    return { pid, outcome: 'container', container: match, runtime, binding, ...(signatures ? { signatures } : {}), selectors };
  }

  // The selectors are a function of the three cached findings: built once
  // per combination (the warm path reuses the list while none changed).
  #selectorsOf(runtime: RuntimeFindings, binding: BindingReport, signatures: SignatureReport | undefined): readonly string[] {
    const memo = this.#selectorMemo.get(runtime);
    if (memo?.binding === binding && memo.signatures === signatures) return memo.selectors;
    const mode = this.#config.signatures.signerSelectors;
    const selectors = Object.freeze(
      normalizeSelectors([
        ...containerSelectors(runtime.container, { envSelectors: this.#config.runtimes.envSelectors }),
        ...(binding.outcome === 'bound' ? bindingSelectors(binding) : []),
        ...(signatures ? signatureSelectors(signatures.accepted, mode) : []),
        ...(signatures ? attestationSelectors(signatures.attestations, mode) : []),
      ]),
    );
    this.#selectorMemo.set(runtime, { binding, signatures, selectors });
    return selectors;
  }

  // Is what runs exactly what the registry serves (throws under `require`
  // when it is not, or the registry cannot tell)? Only an image bound to its
  // registry goes on to signature and attestation checks.
  async #imageChecks(runtime: RuntimeFindings, signal: AbortSignal): Promise<{ binding: BindingReport; signatures: SignatureReport | undefined }> {
    const binding = await raceAbort(
      this.#verdicts.binding(bindingKey(runtime), () =>
        bindImage(this.#deps.registry, this.#config.registry, runtime.container, runtime.image, AbortSignal.timeout(CACHE_TTL.loadTimeoutMs), this.#log),
      ),
      signal,
    );
    if (binding.outcome !== 'bound') return { binding, signatures: undefined };
    return { binding, signatures: await this.#signatureReport(binding, signal) };
  }

  // A container the runtime reported starting: the checks an attestation of
  // it would make, for their caches (no PID: nothing is granted here).
  async prefetch(client: RuntimeClient, key: ContainerKey): Promise<void> {
    const signal = AbortSignal.timeout(SIGNATURE_LOAD_TIMEOUT_MS + CACHE_TTL.loadTimeoutMs);
    const { runtime } = await this.#containers.load([client], key, signal);
    if (!runtime.container.running) return;
    await this.#imageChecks(runtime, signal);
  }

  // Containers verified early so far (prefetch_on_start), and starts
  // dropped because too many were waiting.
  get prefetched(): { checked: number; dropped: number } {
    return this.#prefetcher?.stats ?? { checked: 0, dropped: 0 };
  }

  startPrefetch(): void {
    if (!this.#config.runtimes.prefetchOnStart || this.#prefetcher) return;
    const { docker, podman, containerd } = this.#deps;
    const clients = this.#config.runtimes.containerdNamespaces.length > 0 ? [docker, podman, containerd] : [docker, podman];
    this.#prefetcher = new StartPrefetcher(
      (client, key) => this.prefetch(client, key),
      this.#log,
      (result) => this.#metrics.incrCounter(METRIC_KEYS.prefetches, 1, this.#labels.of(['result', result])),
    );
    this.#prefetcher.watch(clients, (client) => this.#deps.checkSocket(socketPathOf(client.endpoint)));
  }

  async #signatureReport(binding: BoundImage, signal: AbortSignal): Promise<SignatureReport> {
    const trust = this.#trust.loaded ?? (await raceAbort(readyTrust(this.#trust), signal));
    return raceAbort(
      this.#verdicts.signatures(signatureKey(binding), trust, () => {
        const step = { registry: this.#deps.registry, trust, policy: this.#config.signatures.policy, log: this.#log, metrics: this.#metrics };
        return checkSignatures(step, binding.reference, signedDigests(binding), AbortSignal.timeout(SIGNATURE_LOAD_TIMEOUT_MS));
      }),
      signal,
    );
  }

  async close(): Promise<void> {
    // Runtime clients that keep connections open (containerd's channel)
    // release them; dockerode keeps none between calls.
    await this.#prefetcher?.close();
    for (const client of [this.#deps.docker, this.#deps.podman, this.#deps.containerd]) client.close?.();
    this.#trust.close();
    await this.#deps.release?.();
  }
}
