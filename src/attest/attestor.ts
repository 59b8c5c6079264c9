// The attestation checklist: PID -> container -> image -> selectors. Each
// step is one call; the rules that join them (which runtime serves which
// container, what happens when a step finds nothing) live here.

import { confirmInContainerCgroup, confirmSameCgroup, locateContainer } from '../process/index.js';
import { lookupContainer } from '../runtime/lookup.js';
import { socketPathOf, socketPresent } from '../runtime/socket.js';
import { bindingSelectors } from '../selectors/binding.js';
import { containerSelectors } from '../selectors/container.js';
import { attestationSelectors } from '../selectors/attestation.js';
import { signatureSelectors } from '../selectors/signature.js';
import { normalizeSelectors } from '../selectors/names.js';
import { AttestorError, isAttestorError } from '../errors.js';
import { raceAbort, throwIfAborted } from '../util/abort.js';
import { VerdictCache } from '../util/cache.js';
import { bindImage } from './binding-step.js';
import { Verdicts } from './verdicts.js';
import { TrustSource } from '../verify/trust-source.js';
import { checkSignatures, readyTrust } from './signature-step.js';
import { countLookups, LabelSets, METRIC_KEYS, NO_LABELS, NO_METRICS } from './metrics.js';
import { StartPrefetcher } from './prefetch.js';
import { bindingKey, containerCacheKey, signatureKey } from './cache-keys.js';

import type { PluginConfig } from './types.js';
import type { Logger } from '../log.js';
import type { ContainerMatch, ProcReader } from '../process/index.js';
import type { RetryPolicy, RuntimeFindings } from '../runtime/lookup.js';
import type { Digest, ImageReference, RegistryApi } from '../registry/types.js';
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
// ID except its first process (a restart), which is re-checked on every
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
  readonly #containers: VerdictCache<RuntimeFindings>;
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
    this.#containers = new VerdictCache<RuntimeFindings>({
      ttlMs: CACHE_TTL.containerMs,
      failureTtlMs: 0,
      maxEntries: CACHE_TTL.maxEntries,
      onLookup: countLookups(this.#metrics, 'container'),
    });
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
    const metrics = this.#metrics;
    try {
      const report = await this.explain(pid, signal);
      metrics.incrCounter(METRIC_KEYS.attestations, 1, this.#outcomeLabels.get(outcomeOf(report)) ?? NO_LABELS);
      return report.selectors;
    } catch (err) {
      const reason = isAttestorError(err) ? err.code : 'INTERNAL';
      metrics.incrCounter(METRIC_KEYS.attestations, 1, this.#labels.of(['outcome', 'denied'], ['reason', reason]));
      throw err;
    } finally {
      metrics.addSample(METRIC_KEYS.attestationLatencyMs, performance.now() - started, NO_LABELS);
    }
  }

  async explain(pid: number, signal: AbortSignal): Promise<AttestReport> {
    const { proc } = this.#deps;
    const located = await locateContainer(pid, proc, this.#config.runtimes.containerdNamespaces);
    // Not a container: not ours to describe. No selectors, no error.
    if (located.kind === 'host') return { pid, outcome: 'host', selectors: [] };

    const match = located.match;
    const clients = this.#runtimesFor(match);
    if (clients.length === 0) {
      this.#log.debug('container runtime not served', { pid, container_id: match.id, runtime: match.runtimeHint });
      return { pid, outcome: 'unsupported-runtime', container: match, selectors: [] };
    }
    throwIfAborted(signal);
    const runtime = await this.#containerFacts(clients, pid, located, signal);
    const { binding, signatures } = await this.#imageChecks(runtime, signal);

    // Last: the PID may have exited and been reused during the lookups.
    await confirmSameCgroup(pid, proc, located.cgroupText);
    throwIfAborted(signal);

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
    const digests = binding.indexDigest ? [binding.indexDigest, binding.manifestDigest] : [binding.manifestDigest];
    return { binding, signatures: await this.#signatureReport(signatureKey(binding, binding.reference, digests), binding.reference, digests, signal) };
  }

  // A container the runtime reported starting: the checks an attestation of
  // it would make, for their caches (no PID: nothing is granted here).
  async prefetch(client: RuntimeClient, key: ContainerKey): Promise<void> {
    const signal = AbortSignal.timeout(SIGNATURE_LOAD_TIMEOUT_MS + CACHE_TTL.loadTimeoutMs);
    const runtime = await this.#loadContainer([client], key, signal);
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

  async #signatureReport(key: string, ref: ImageReference, digests: readonly Digest[], signal: AbortSignal): Promise<SignatureReport> {
    // Loaded once; the warm path takes it without another await.
    const trust = this.#trust.loaded ?? (await raceAbort(readyTrust(this.#trust), signal));
    return raceAbort(
      this.#verdicts.signatures(key, trust, () => {
        const step = { registry: this.#deps.registry, trust, policy: this.#config.signatures.policy, log: this.#log, metrics: this.#metrics };
        return checkSignatures(step, ref, digests, AbortSignal.timeout(SIGNATURE_LOAD_TIMEOUT_MS));
      }),
      signal,
    );
  }

  // Container and image facts (cached per container ID), confirmed against
  // the container's first process: the cgroup name alone proves little, the
  // workload must share the cgroup of that process. Cached facts that fail
  // the check (the container restarted: new first process) are reloaded once.
  async #containerFacts(
    clients: readonly RuntimeClient[],
    pid: number,
    located: { match: ContainerMatch; cgroupText: string },
    signal: AbortSignal,
  ): Promise<RuntimeFindings> {
    const { id, namespace } = located.match;
    const key = namespace === undefined ? { id } : { id, namespace };
    for (let attempt = 0; ; attempt++) {
      const runtime = await this.#loadContainer(clients, key, signal);
      try {
        if (!runtime.container.running || runtime.container.initPid <= 0) {
          throw new AttestorError('CONTAINER_NOT_FOUND', `container ${id} is not running`);
        }
        await confirmInContainerCgroup(pid, located, runtime.container.initPid, this.#deps.proc, this.#config.runtimes.containerdNamespaces);
        return runtime;
      } catch (err) {
        this.#containers.delete(containerCacheKey(clients, key));
        if (attempt > 0) throw err;
      }
    }
  }

  // Container and image facts from the first runtime that knows the
  // container, cached per runtime(s) and container ID.
  #loadContainer(clients: readonly RuntimeClient[], key: ContainerKey, signal: AbortSignal): Promise<RuntimeFindings> {
    return raceAbort(
      this.#containers.get(containerCacheKey(clients, key), async () => {
        for (const client of clients) await this.#deps.checkSocket(socketPathOf(client.endpoint));
        return lookupContainer(clients, key, AbortSignal.timeout(CACHE_TTL.loadTimeoutMs), this.#deps.retry);
      }),
      signal,
    );
  }

  // Which runtimes may own a container of this cgroup form, in the order to
  // ask them. None: the form's runtime is not served (CRI-O; containerd
  // without a socket or namespaces), so the workload gets no selectors at once.
  #runtimesFor(match: ContainerMatch): RuntimeClient[] {
    const { docker, podman, containerd } = this.#deps;
    const present = this.#deps.socketPresent ?? socketPresent;
    const served = (client: RuntimeClient): boolean => present(socketPathOf(client.endpoint));
    const containerdServed = this.#config.runtimes.containerdNamespaces.length > 0 && served(containerd);
    switch (match.runtimeHint) {
      case 'podman':
        return [podman];
      case 'docker':
      case 'unknown':
        return [docker];
      case 'containerd':
        return containerdServed ? [containerd] : [];
      case 'kubernetes':
        // A kubelet's cgroupfs path names no runtime: containerd (CRI) first,
        // then Docker (cri-dockerd), whichever is there.
        return [...(containerdServed ? [containerd] : []), ...(served(docker) ? [docker] : [])];
      case 'crio':
        return [];
    }
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
