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
import { AttestorError, codeInfo, isAttestorError, messageOf } from '../errors.js';
import { raceAbort, throwIfAborted } from '../util/abort.js';
import { VerdictCache } from '../util/cache.js';
import { RefreshingCache } from '../util/refreshing-cache.js';
import { packageVersion } from '../util/version.js';
import { VerdictStore } from './verdict-store.js';
import { bindImage } from './binding-step.js';
import { TrustSource } from '../verify/trust-source.js';
import { checkSignatures, readyTrust } from './signature-step.js';

import type { PluginConfig } from './types.js';
import type { Logger } from '../log.js';
import type { ContainerMatch, ProcReader } from '../process/index.js';
import type { RetryPolicy, RuntimeFindings } from '../runtime/lookup.js';
import type { Digest, ImageReference, RegistryApi } from '../registry/types.js';
import type { RuntimeClient } from '../runtime/types.js';
import type { BindingReport } from './binding-step.js';
import type { TrustRoots } from '../verify/trust-roots.js';
import type { SignatureReport } from './signature-step.js';

// What the plugin protocol and the CLI need of an attestor.
export interface Attestor {
  // Resolves once everything the configuration names (trusted root, keys)
  // is loaded; rejects with CONFIG_INVALID otherwise.
  ready(): Promise<void>;
  attest(pid: number, signal: AbortSignal): Promise<readonly string[]>;
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
  selectors: string[];
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
}

// How long what we learned stays usable. Container facts cannot change for a
// container ID except its first process (a restart), which is re-checked on
// every attestation. A binding (this image ID is that manifest digest of
// this repository) is content-addressed and never changes: kept until evicted,
// never asked again (a tag that moves later is reported by attest --json
// when it is looked up, never re-checked on the attestation path).
export const CACHE_TTL = {
  containerMs: 30_000,
  bindingMs: Number.POSITIVE_INFINITY,
  // "could not tell" answers (registry down under `prefer`) and failures.
  shortMs: 5_000,
  // A shared load runs under its own deadline, never under one caller's.
  loadTimeoutMs: 20_000,
  maxEntries: 4096,
} as const;

// Signature reports: refreshed in the background (config.verdicts), failed
// first loads remembered 5 s, a failed refresh retried after a minute.
const SIGNATURE_CACHE = { failureTtlMs: 5_000, retryMs: 60_000, jitter: 0.1, maxEntries: 1024, loadTimeoutMs: 30_000 } as const;

function bridgesOutage(err: unknown): boolean {
  const info = codeInfo(err);
  return info?.outage === true || (isAttestorError(err) && err.code === 'DEADLINE_EXCEEDED');
}

function bindingKey(runtime: RuntimeFindings): string {
  const image = runtime.image;
  const digests = [...(image?.repoDigests ?? [])].sort().join(',');
  const platform = image ? `${image.os}/${image.architecture}/${image.variant ?? ''}` : '';
  return `${runtime.container.imageRef}|${runtime.container.imageId}|${digests}|${platform}`;
}

export class PipelineAttestor implements Attestor {
  readonly #config: PluginConfig;
  readonly #deps: AttestorDeps;
  readonly #log: Logger;
  readonly #trust: TrustSource;
  // Signature reports per image (repository and digests), stamped with the
  // trust they were reached under.
  readonly #signatures: RefreshingCache<SignatureReport>;
  readonly #store: VerdictStore | undefined;
  readonly #fingerprints = new WeakMap<object, string>();
  readonly #containers = new VerdictCache<RuntimeFindings>({
    ttlMs: CACHE_TTL.containerMs,
    failureTtlMs: 0,
    maxEntries: CACHE_TTL.maxEntries,
  });
  readonly #bindings: VerdictCache<BindingReport>;

  // ready() rejects (CONFIG_INVALID) when the trusted root or a key file
  // cannot be loaded.
  constructor(config: PluginConfig, deps: AttestorDeps, log: Logger) {
    this.#config = config;
    this.#deps = deps;
    this.#log = log;
    this.#trust = new TrustSource(config.signatures, log);
    const now = deps.now;
    const { verdicts } = config;
    this.#store = verdicts.cacheDir === undefined ? undefined : new VerdictStore(verdicts.cacheDir, config.fingerprint, packageVersion(), log);
    this.#bindings = new VerdictCache<BindingReport>({
      ttlMs: CACHE_TTL.bindingMs,
      ttlOf: (b) => (b.outcome === 'bound' || b.outcome === 'skipped' ? CACHE_TTL.bindingMs : CACHE_TTL.shortMs),
      failureTtlMs: CACHE_TTL.shortMs,
      maxEntries: CACHE_TTL.maxEntries,
      ...(now ? { now } : {}),
    });
    this.#signatures = new RefreshingCache<SignatureReport>({
      ...SIGNATURE_CACHE,
      refreshMs: verdicts.refreshMs,
      maxStaleMs: verdicts.maxStaleMs,
      ...(now ? { now } : {}),
      onRefreshError: (key, err) => log.warn('signature refresh failed', { image: key, error: messageOf(err), keeps_last_verdict: bridgesOutage(err) }),
      // Only the registry being unreachable (or slow) keeps a verdict alive;
      // anything else fails closed.
      keepsValue: bridgesOutage,
      onValue: (key, known) => this.#store?.save('signatures', key, known),
    });
  }

  // Loads the trust, and the verdicts persisted before a restart.
  async ready(): Promise<void> {
    await readyTrust(this.#trust);
    if (this.#store) this.#restore(this.#store);
  }

  #restore(store: VerdictStore): void {
    try {
      store.open();
    } catch (err) {
      throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${messageOf(err)}`, { cause: err });
    }
    for (const v of store.load()) {
      if (v.kind === 'binding') this.#bindings.seed(v.key, v.known.value as BindingReport);
      else this.#signatures.seed(v.key, { ...v.known, value: v.known.value as SignatureReport });
    }
  }

  // Signature discoveries + verifications actually performed.
  get signatureLoads(): number {
    return this.#signatures.loads;
  }

  async attest(pid: number, signal: AbortSignal): Promise<readonly string[]> {
    return (await this.explain(pid, signal)).selectors;
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

    // Is what runs exactly what the registry serves? Throws under `require`
    // when it is not (or the registry cannot tell).
    const key = bindingKey(runtime);
    const binding = await raceAbort(
      this.#bindings.get(key, async () => {
        const verifiedAt = (this.#deps.now ?? Date.now)();
        const report = await bindImage(
          this.#deps.registry,
          this.#config.registry,
          runtime.container,
          runtime.image,
          AbortSignal.timeout(CACHE_TTL.loadTimeoutMs),
          this.#log,
        );
        // Immutable once bound: persisted for the next start.
        if (report.outcome === 'bound') this.#store?.save('binding', key, { value: report, stamp: '', verifiedAt });
        return report;
      }),
      signal,
    );

    // Only an image bound to its registry may go on to signature and
    // attestation checks.
    let signatures: SignatureReport | undefined;
    if (binding.outcome === 'bound') {
      const digests = binding.indexDigest ? [binding.indexDigest, binding.manifestDigest] : [binding.manifestDigest];
      signatures = await this.#signatureReport(binding.reference, digests, signal);
    }

    // Last: the PID may have exited and been reused during the lookups.
    await confirmSameCgroup(pid, proc, located.cgroupText);
    throwIfAborted(signal);

    const selectors = normalizeSelectors([
      ...containerSelectors(runtime.container, { envSelectors: this.#config.runtimes.envSelectors }),
      ...(binding.outcome === 'bound' ? bindingSelectors(binding) : []),
      ...(signatures ? signatureSelectors(signatures.accepted, this.#config.signatures.signerSelectors) : []),
      ...(signatures ? attestationSelectors(signatures.attestations, this.#config.signatures.signerSelectors) : []),
    ]);
    return { pid, outcome: 'container', container: match, runtime, binding, ...(signatures ? { signatures } : {}), selectors };
  }

  async #signatureReport(ref: ImageReference, digests: readonly Digest[], signal: AbortSignal): Promise<SignatureReport> {
    // Loaded once; the warm path takes it without another await.
    const trust = this.#trust.loaded ?? (await raceAbort(readyTrust(this.#trust), signal));
    const key = [`${ref.registry}/${ref.repository}`, ...[...digests].sort()].join(' ');
    // A verdict reached under other trust (a refreshed root) is refreshed.
    const stamp = this.#fingerprintOf(trust);
    return raceAbort(
      this.#signatures.get(key, stamp, () => {
        const step = { registry: this.#deps.registry, trust, policy: this.#config.signatures.policy, log: this.#log };
        return checkSignatures(step, ref, digests, AbortSignal.timeout(SIGNATURE_CACHE.loadTimeoutMs));
      }),
      signal,
    );
  }

  // What the trust in use trusts (stable across restarts), per trust object.
  #fingerprintOf(trust: TrustRoots): string {
    let fp = this.#fingerprints.get(trust);
    if (fp === undefined) {
      fp = trust.roots.map((r) => `${r.name}:${r.fingerprint}`).join(',');
      this.#fingerprints.set(trust, fp);
    }
    return fp;
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
    const key = `${clients.map((c) => c.kind).join('+')}:${namespace ?? ''}/${id}`;
    for (let attempt = 0; ; attempt++) {
      const runtime = await raceAbort(
        this.#containers.get(key, async () => {
          for (const client of clients) await this.#deps.checkSocket(socketPathOf(client.endpoint));
          const containerKey = namespace === undefined ? { id } : { id, namespace };
          return lookupContainer(clients, containerKey, AbortSignal.timeout(CACHE_TTL.loadTimeoutMs), this.#deps.retry);
        }),
        signal,
      );
      try {
        if (!runtime.container.running || runtime.container.initPid <= 0) {
          throw new AttestorError('CONTAINER_NOT_FOUND', `container ${id} is not running`);
        }
        await confirmInContainerCgroup(pid, located, runtime.container.initPid, this.#deps.proc, this.#config.runtimes.containerdNamespaces);
        return runtime;
      } catch (err) {
        this.#containers.delete(key);
        if (attempt > 0) throw err;
      }
    }
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
    for (const client of [this.#deps.docker, this.#deps.podman, this.#deps.containerd]) client.close?.();
    this.#trust.close();
    await this.#deps.release?.();
  }
}
