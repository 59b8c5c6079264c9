// The validated, immutable configuration the attestor runs with. It lives
// here, with its consumer; config/ builds it from plugin_data.

import type { LogLevel } from '../log.js';
import type { CompiledPolicy, PolicyRules } from '../policy/types.js';
import type { RegistrySettings } from '../registry/options.js';
import type { TrustRootSpec } from '../verify/trust-roots.js';
import type { KeyRule } from '../verify/types.js';

export interface PluginConfig {
  // A digest of the plugin_data text: what persisted verdicts are bound to.
  readonly fingerprint: string;
  readonly logLevel: LogLevel;
  readonly verdicts: VerdictSettings;
  readonly runtimes: RuntimeEndpoints;
  readonly registry: RegistryConfig;
  readonly signatures: SignaturePolicyConfig;
}

// Who may sign (the rules, with require_tlog / require_sct defaulting to
// true), and the trust to check signatures with.
export interface SignaturePolicyConfig extends PolicyRules {
  readonly keys: readonly KeyRule[];
  // The rules, compiled (config/ validated them with the same code).
  readonly policy: CompiledPolicy;
  // The trusted roots to verify under (one unless trusted_root blocks name
  // several), with their TUF refresh (none when offline).
  readonly trustRoots: readonly TrustRootSpec[];
  // Which signer selectors: 'all' (named-rule selectors plus SPIRE's
  // per-field subject / issuer / claim selectors) or 'named' (only
  // image-signature-identity and image-signature-key, which one signature
  // must satisfy whole).
  readonly signerSelectors: SignerSelectorMode;
}

export type SignerSelectorMode = 'all' | 'named';
export const SIGNER_SELECTOR_MODES: readonly SignerSelectorMode[] = ['all', 'named'];

export interface RegistryConfig {
  // Settings per registry host[:port], exactly as written in image references.
  readonly registries: Readonly<Record<string, RegistryEntry>>;
  // Docker config.json for credentials; undefined: $DOCKER_CONFIG or ~/.docker.
  readonly dockerConfigPath: string | undefined;
  // Per registry request.
  readonly timeoutMs: number;
}

// The registry client's settings for one registry, and how binding treats it.
export interface RegistryEntry extends RegistrySettings {
  readonly insecure: boolean;
  readonly binding: BindingMode;
}

// require (default): a container whose image is not bound to this registry's
// manifest gets no selectors at all, and an unreachable registry fails the
// attestation. prefer: try; when not bound or unreachable, keep the container
// selectors without digest (and signature) selectors. skip: never contact
// this registry; container selectors only.
export type BindingMode = 'require' | 'prefer' | 'skip';
export const BINDING_MODES: readonly BindingMode[] = ['require', 'prefer', 'skip'];

export interface RuntimeEndpoints {
  // Docker Engine API endpoint, `unix:///path`.
  readonly dockerSocketPath: string;
  // Rootful Podman's Docker-compatible API endpoint, `unix:///path`.
  readonly podmanSocketPath: string;
  // containerd's gRPC API endpoint, `unix:///path`. A socket that is not
  // there means containerd is not served: its containers get no selectors.
  readonly containerdSocketPath: string;
  // The containerd namespaces served (and recognised in `/<ns>/<id>` cgroups).
  readonly containerdNamespaces: readonly string[];
  // Accept sockets that non-root users could replace.
  readonly allowUntrustedSocketDir: boolean;
  // Environment variable names whose values become `env:` selectors.
  readonly envSelectors: readonly string[];
  // Verify each container's image as the container starts (the runtimes'
  // start events), so that its first attestation finds the verdicts cached.
  readonly prefetchOnStart: boolean;
}

// How long verdicts live. Registry bindings are content-addressed and never
// re-checked while cached; signature and attestation verdicts are refreshed
// in the background every `refreshMs` (jittered), used while the registry is
// unreachable up to `maxStaleMs`, and persisted in `cacheDir` across
// restarts (undefined: not persisted).
export interface VerdictSettings {
  readonly refreshMs: number;
  readonly maxStaleMs: number;
  readonly cacheDir: string | undefined;
}
