// Decoded plugin_data -> PluginConfig. Configure and Validate (and the CLI's
// --config) all go through configFromHcl, so they accept and reject the same
// things; the HCL text is decoded by config/hcl.ts in process (build.ts) or
// by config/hcl-child.ts in a short-lived process of our own (the plugin).

import { createHash } from 'node:crypto';

import { AttestorError } from '../errors.js';
import { LOG_LEVELS } from '../log.js';
import { compilePolicy, policyProblems } from '../policy/compile.js';
import { isContainerdIdentifier } from '../util/containerd-identifier.js';
import { ConfigReader } from './reader.js';
import { trustRoots as readTrustRoots } from './trust-roots.js';

import { BINDING_MODES, SIGNER_SELECTOR_MODES } from './types.js';

import type { HclObject } from './hcl-output.js';
import type { TufDefaults } from './trust-roots.js';
import type {
  AttestationRule,
  IdentityRule,
  KeyRule,
  PluginConfig,
  RegistryConfig,
  RegistryEntry,
  RuntimeEndpoints,
  SignaturePolicyConfig,
  VerdictSettings,
} from './types.js';

export const DEFAULTS = {
  logLevel: 'info',
  dockerSocketPath: 'unix:///var/run/docker.sock',
  podmanSocketPath: 'unix:///run/podman/podman.sock',
  containerdSocketPath: 'unix:///run/containerd/containerd.sock',
  // Kubernetes' CRI uses k8s.io; ctr and nerdctl use default.
  containerdNamespaces: ['k8s.io', 'default'],
  registryTimeoutMs: 10_000,
  // 6 h: a refresh of a signed single-platform image costs about four
  // registry requests (the referrers API, its tag fallback, the .sig
  // manifest, the signature blob), so steady state stays under one request
  // per image per hour even with the 10 % jitter, and a signature deleted
  // from the registry stops counting within 6 h (lower it for faster
  // revocation: the traffic grows as 1 / interval).
  verdictRefreshS: 6 * 3600,
  verdictMaxStalenessS: 24 * 3600,
  verdictCacheDir: '/var/lib/spire-sigstore-attestor/verdicts',
} as const;

const REGISTRY_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$/;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function unixSocket(reader: ConfigReader, key: string, fallback: string): string {
  const value = reader.string(key) ?? fallback;
  if (!value.startsWith('unix:///')) {
    reader.problem(key, `must be a unix socket URL like unix:///var/run/docker.sock, got "${value}"`);
  }
  return value;
}

function runtimeEndpoints(reader: ConfigReader): RuntimeEndpoints {
  const envSelectors = reader.stringList('env_selectors') ?? [];
  for (const name of envSelectors) {
    if (!ENV_NAME.test(name)) reader.problem('env_selectors', `"${name}" is not an environment variable name`);
  }
  const containerdNamespaces = reader.stringList('containerd_namespaces') ?? [...DEFAULTS.containerdNamespaces];
  containerdNamespaces.forEach((name, i) => {
    if (!isContainerdIdentifier(name)) reader.problem('containerd_namespaces', `"${name}" is not a containerd namespace name`);
    else if (containerdNamespaces.indexOf(name) !== i) reader.problem('containerd_namespaces', `"${name}" is named twice`);
  });
  return {
    dockerSocketPath: unixSocket(reader, 'docker_socket_path', DEFAULTS.dockerSocketPath),
    podmanSocketPath: unixSocket(reader, 'podman_socket_path', DEFAULTS.podmanSocketPath),
    containerdSocketPath: unixSocket(reader, 'containerd_socket_path', DEFAULTS.containerdSocketPath),
    containerdNamespaces,
    allowUntrustedSocketDir: reader.boolean('allow_untrusted_socket_dir') ?? false,
    envSelectors,
    prefetchOnStart: reader.boolean('prefetch_on_start') ?? false,
  };
}

function registryEntry(reader: ConfigReader): RegistryEntry {
  const caFile = reader.string('ca_file');
  const username = reader.string('username');
  const passwordFile = reader.string('password_file');
  const tokenFile = reader.string('token_file');
  // Secrets come from files; an inline secret in agent.conf would be readable
  // by everyone who can read the agent's configuration.
  for (const inline of ['password', 'token', 'auth']) {
    if (reader.has(inline)) {
      reader.string(inline);
      reader.problem(inline, `secrets are not accepted inline; put it in a file and use ${inline === 'token' ? 'token_file' : 'password_file'}`);
    }
  }
  if (username !== undefined && passwordFile === undefined) reader.problem('username', 'needs password_file');
  if (passwordFile !== undefined && username === undefined) reader.problem('password_file', 'needs username');
  if (tokenFile !== undefined && username !== undefined) reader.problem('token_file', 'use either token_file or username + password_file');
  const entry: RegistryEntry = {
    insecure: reader.boolean('insecure') ?? false,
    binding: reader.oneOf('binding', BINDING_MODES) ?? 'require',
    ...(caFile !== undefined ? { caFile } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(passwordFile !== undefined ? { passwordFile } : {}),
    ...(tokenFile !== undefined ? { tokenFile } : {}),
  };
  if (entry.insecure && entry.caFile !== undefined) reader.problem('ca_file', 'makes no sense with insecure = true (plain HTTP)');
  reader.finish();
  return entry;
}

function registryConfig(root: ConfigReader): RegistryConfig {
  const registries: Record<string, RegistryEntry> = {};
  for (const { label, reader } of root.labeledBlocks('registry')) {
    if (!REGISTRY_HOST.test(label)) reader.problem('', `"${label}" is not a registry host[:port]`);
    if (label in registries) reader.problem('', `registry "${label}" is configured twice`);
    registries[label] = registryEntry(reader);
  }
  return {
    registries,
    dockerConfigPath: root.string('docker_config_path'),
    timeoutMs: root.integer('registry_timeout_ms', 100, 120_000) ?? DEFAULTS.registryTimeoutMs,
  };
}

function stringMap(reader: ConfigReader, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of reader.blocks(key)) {
    for (const name of block.keys()) {
      const value = block.string(name);
      if (value !== undefined) out[name] = value;
    }
  }
  return out;
}

// Read only: the rules are validated by policy/ (policyProblems), the code
// that also compiles them.
function identityRule(reader: ConfigReader): IdentityRule {
  const name = reader.string('name');
  const issuer = reader.string('issuer');
  const issuerRegexp = reader.string('issuer_regexp');
  const subject = reader.string('subject');
  const subjectRegexp = reader.string('subject_regexp');
  const claims = stringMap(reader, 'claims');
  const trustedRoots = reader.stringList('trusted_roots');
  reader.finish();
  return {
    claims,
    ...(trustedRoots !== undefined ? { trustedRoots } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ...(issuerRegexp !== undefined ? { issuerRegexp } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(subjectRegexp !== undefined ? { subjectRegexp } : {}),
  };
}

function keyRule(reader: ConfigReader, index: number): KeyRule {
  const name = reader.string('name');
  const path = reader.string('path');
  const trustedRoots = reader.stringList('trusted_roots');
  if (name === undefined || name === '') reader.problem('name', 'is required');
  if (path === undefined || path === '') reader.problem('path', 'is required (a PEM public key file)');
  reader.finish();
  return { name: name ?? `key-${index}`, path: path ?? '', ...(trustedRoots !== undefined ? { trustedRoots } : {}) };
}

// `attestation "<name>" { predicate_type, identity { } | key, builder_id[_regexp],
// build_type[_regexp], source_uri[_regexp] }`. Read only; policy/ validates.
function attestationRule(label: string, reader: ConfigReader): AttestationRule {
  const [identityBlock, ...extra] = reader.blocks('identity');
  if (extra.length > 0) reader.problem('identity', 'may appear once (one signer per rule; write another attestation rule for another signer)');
  const identity = identityBlock ? identityRule(identityBlock) : undefined;
  const key = reader.string('key');
  const optional = (name: string): string | undefined => reader.string(name);
  const fields = {
    builderId: optional('builder_id'),
    builderIdRegexp: optional('builder_id_regexp'),
    buildType: optional('build_type'),
    buildTypeRegexp: optional('build_type_regexp'),
    sourceUri: optional('source_uri'),
    sourceUriRegexp: optional('source_uri_regexp'),
  };
  const rule: AttestationRule = {
    name: label,
    predicateType: reader.string('predicate_type') ?? '',
    ...(identity !== undefined ? { identity } : {}),
    ...(key !== undefined ? { key } : {}),
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
  };
  reader.finish();
  return rule;
}

type PolicyFields = Omit<SignaturePolicyConfig, 'policy'>;

function signaturePolicy(root: ConfigReader, options: BuildOptions): PolicyFields {
  const identities = root.blocks('identity').map(identityRule);
  const keys = root.blocks('key').map(keyRule);
  const attestations = root.labeledBlocks('attestation').map(({ label, reader }) => attestationRule(label, reader));
  const requireTlog = root.boolean('require_tlog') ?? true;
  const requireSct = root.boolean('require_sct') ?? true;
  for (const problem of policyProblems({ identities, keys, attestations, requireTlog, requireSct })) root.problem(problem.key, problem.message);
  const signerSelectors = root.oneOf('signer_selectors', SIGNER_SELECTOR_MODES) ?? 'all';
  identities.forEach((identity, i) => {
    if (identity.name === undefined && signerSelectors === 'named') {
      root.problem(`identity[${i}]`, 'needs a name: signer_selectors = "named" emits only named-rule selectors');
    }
  });
  const signatureIdentities = [...identities, ...attestations.flatMap((a) => (a.identity ? [a.identity] : []))];
  const trustRoots = readTrustRoots(root, { identities: signatureIdentities, keys }, options.tufDefaults, options.oneShot);
  return { identities, keys, attestations, requireTlog, requireSct, trustRoots, signerSelectors };
}

// Internal options (never from plugin_data).
export interface BuildOptions {
  // Tests: a TUF repository of their own in place of public-good's.
  readonly tufDefaults?: TufDefaults;
  // The CLI: refresh trusted roots once while loading, not in the
  // background (a one-shot run verifies with a current root and exits).
  readonly oneShot?: boolean;
}

// verdict_refresh_interval_s, verdict_max_staleness_s, verdict_cache_dir,
// persist_verdicts.
function verdictSettings(root: ConfigReader): VerdictSettings {
  const refreshS = root.integer('verdict_refresh_interval_s', 60, 7 * 24 * 3600) ?? DEFAULTS.verdictRefreshS;
  const maxStaleS = root.integer('verdict_max_staleness_s', 60, 30 * 24 * 3600) ?? Math.max(DEFAULTS.verdictMaxStalenessS, refreshS);
  if (maxStaleS < refreshS) root.problem('verdict_max_staleness_s', `must be at least verdict_refresh_interval_s (${refreshS})`);
  const dir = root.string('verdict_cache_dir') ?? DEFAULTS.verdictCacheDir;
  if (!dir.startsWith('/')) root.problem('verdict_cache_dir', `must be an absolute path, got "${dir}"`);
  const persist = root.boolean('persist_verdicts') ?? true;
  return { refreshMs: refreshS * 1000, maxStaleMs: maxStaleS * 1000, cacheDir: persist ? dir : undefined };
}

// `data` is `text` decoded; the fingerprint is of the text.
export function configFromHcl(data: HclObject, text: string, options: BuildOptions = {}): PluginConfig {
  const problems: string[] = [];
  const root = new ConfigReader(data, '', problems);
  const logLevel = root.oneOf('log_level', LOG_LEVELS) ?? DEFAULTS.logLevel;
  const verdicts = verdictSettings(root);
  const runtimes = runtimeEndpoints(root);
  const registry = registryConfig(root);
  const signatures = signaturePolicy(root, options);
  root.finish();
  if (problems.length > 0) {
    throw new AttestorError('CONFIG_INVALID', `invalid plugin_data: ${problems.join('; ')}`);
  }
  // Cannot fail: policyProblems found nothing.
  const fingerprint = createHash('sha256').update(text).digest('hex');
  return { fingerprint, logLevel, verdicts, runtimes, registry, signatures: { ...signatures, policy: compilePolicy(signatures) } };
}
