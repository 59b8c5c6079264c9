// The validated, immutable configuration the attestor runs with.

import type { LogLevel } from '../log.js';

export interface PluginConfig {
  readonly logLevel: LogLevel;
  readonly docker: RuntimeEndpoints;
  readonly registry: RegistryConfig;
  readonly signatures: SignaturePolicyConfig;
}

// Who may sign. At least one identity or key; never "any signer".
export interface SignaturePolicyConfig {
  readonly identities: readonly IdentityRule[];
  readonly keys: readonly KeyRule[];
  // Require a verified transparency-log entry (default true).
  readonly requireTlog: boolean;
  // Require a verified SCT in keyless certificates (default true).
  readonly requireSct: boolean;
  // A Sigstore trusted_root.json replacing the embedded public-good root.
  readonly trustedRootFile: string | undefined;
  // Optional TUF refresh of the trusted root; undefined: none (offline).
  readonly tuf: TufConfig | undefined;
  // Which signer selectors: 'all' (named-rule selectors plus SPIRE's
  // per-field subject / issuer / claim selectors) or 'named' (only
  // image-signature-identity and image-signature-key, which one signature
  // must satisfy whole).
  readonly signerSelectors: SignerSelectorMode;
}

export type SignerSelectorMode = 'all' | 'named';
export const SIGNER_SELECTOR_MODES: readonly SignerSelectorMode[] = ['all', 'named'];

export interface TufConfig {
  readonly mirrorUrl: string;
  readonly cacheDir: string;
  readonly rootFile: string | undefined;
  readonly intervalMs: number;
}

// Exactly one of issuer / issuerRegexp and one of subject / subjectRegexp.
// Regexes match the whole value. `claims` are Fulcio certificate claims that
// must be present with exactly these values (claim names: see CLAIMS).
export interface IdentityRule {
  // Emitted as image-signature-identity:<name> when one signature satisfies
  // the whole rule.
  readonly name?: string;
  readonly issuer?: string;
  readonly issuerRegexp?: string;
  readonly subject?: string;
  readonly subjectRegexp?: string;
  readonly claims: Readonly<Record<string, string>>;
}

export interface KeyRule {
  readonly name: string;
  // PEM public key (ECDSA P-256/P-384, Ed25519, RSA).
  readonly path: string;
}

export interface RegistryConfig {
  // Settings per registry host[:port], exactly as written in image references.
  readonly registries: Readonly<Record<string, RegistryEntry>>;
  // Docker config.json for credentials; undefined: $DOCKER_CONFIG or ~/.docker.
  readonly dockerConfigPath: string | undefined;
  // Per registry request.
  readonly timeoutMs: number;
}

export interface RegistryEntry {
  // Plain HTTP. Only for registries on loopback or a trusted network.
  readonly insecure: boolean;
  readonly caFile?: string;
  readonly username?: string;
  readonly passwordFile?: string;
  readonly tokenFile?: string;
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
  // Accept sockets in directories that non-root users can write to.
  readonly allowUntrustedSocketDir: boolean;
  // Environment variable names whose values become `env:` selectors.
  readonly envSelectors: readonly string[];
}
