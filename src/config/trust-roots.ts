// The trust settings of plugin_data -> the trusted roots to load
// (TrustRootSpec, verify/trust-roots.ts). Either one root:
//   (nothing)             the public-good root: embedded, refreshed through TUF
//   trusted_root_file     a trusted_root.json replacing it
//   tuf { ... }           the embedded root, refreshed from this TUF repository
// or several, as named blocks (not combinable with the above):
//   trusted_root "<name>" { file = "..." }
//   trusted_root "<name>" { tuf { mirror_url, root_file, cache_dir, refresh_interval_s } }
//   trusted_root "public-good" { }
// `offline = true` turns every network refresh off (air-gapped nodes).

import { DEFAULT_TUF_CACHE_DIR, DEFAULT_TUF_REFRESH_S, PUBLIC_GOOD_TUF, TUF_TIMEOUT_MS } from '../verify/index.js';

import type { TrustRootSpec, TufSettings } from '../verify/index.js';
import type { ConfigReader } from './reader.js';

export const PUBLIC_GOOD = 'public-good';
// The name of the one root trusted_root_file or tuf { } configures.
export const DEFAULT_ROOT = 'default';

const ROOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

// Internal, for tests (never an operator key): the public-good TUF
// repository and cache to use instead of the real ones, so a test can serve
// one on 127.0.0.1.
export interface TufDefaults {
  readonly mirrorUrl?: string;
  readonly rootFile?: string;
  readonly cacheDir?: string;
}

// What the rules say about roots, to check the names they use.
interface RootRules {
  readonly identities: readonly { readonly trustedRoots?: readonly string[] }[];
  readonly keys: readonly { readonly trustedRoots?: readonly string[] }[];
}

export function trustRoots(root: ConfigReader, rules: RootRules, defaults: TufDefaults = {}, oneShot = false): TrustRootSpec[] {
  const offline = root.boolean('offline') ?? false;
  const blocks = root.labeledBlocks('trusted_root');
  const trustedRootFile = root.string('trusted_root_file');
  const [tufBlock, ...extra] = root.blocks('tuf');
  if (extra.length > 0) root.problem('tuf', 'may appear once');
  let specs: TrustRootSpec[];
  if (blocks.length > 0) {
    if (trustedRootFile !== undefined)
      root.problem('trusted_root_file', 'cannot be combined with trusted_root blocks (name it: trusted_root "<name>" { file = "..." })');
    if (tufBlock) root.problem('tuf', 'cannot be combined with trusted_root blocks (give the block its own tuf { })');
    for (const key of ['require_tlog', 'require_sct']) {
      if (root.has(key)) root.problem(key, 'cannot be combined with trusted_root blocks: set it in each trusted_root block');
    }
    specs = [];
    for (const { label, reader } of blocks) {
      if (!ROOT_NAME.test(label)) reader.problem('', `"${label}" is not a trusted root name (letters, digits, ".", "_", "-")`);
      if (specs.some((s) => s.name === label)) reader.problem('', `trusted_root "${label}" is configured twice`);
      specs.push(namedRoot(label, reader, offline, defaults));
    }
  } else if (trustedRootFile !== undefined) {
    if (tufBlock) root.problem('tuf', 'cannot be combined with trusted_root_file (which replaces the trusted root for good)');
    specs = [{ name: DEFAULT_ROOT, start: { kind: 'file', path: trustedRootFile }, tuf: undefined, refresh: false, requirements: 'policy', label: '' }];
  } else {
    // No setting: public-good, kept current through TUF as cosign and
    // SPIRE do, unless offline.
    const tuf = tufBlock ? tufSettings(tufBlock, defaults, { mirrorRequired: false }) : offline ? undefined : publicGoodTuf(defaults);
    specs = [{ name: tufBlock ? DEFAULT_ROOT : PUBLIC_GOOD, start: { kind: 'embedded' }, tuf, refresh: !offline, requirements: 'policy', label: '' }];
  }
  checkRuleRoots(
    root,
    rules,
    specs.map((s) => s.name),
  );
  return oneShot ? specs.map((s) => ({ ...s, refreshFirst: true })) : specs;
}

// trusted_root "<name>" { file | tuf { }, require_tlog, require_sct }.
function namedRoot(name: string, reader: ConfigReader, offline: boolean, defaults: TufDefaults): TrustRootSpec {
  const file = reader.string('file');
  const [tufBlock, ...extra] = reader.blocks('tuf');
  if (extra.length > 0) reader.problem('tuf', 'may appear once');
  const requirements = { tlog: reader.boolean('require_tlog'), sct: reader.boolean('require_sct') };
  const label = `trusted_root "${name}"`;
  const base = { name, requirements, label };
  let spec: TrustRootSpec;
  if (name === PUBLIC_GOOD) {
    if (file !== undefined) reader.problem('file', `"${PUBLIC_GOOD}" is the embedded public-good root; give a trusted_root.json another name`);
    const tuf = tufBlock ? tufSettings(tufBlock, defaults, { mirrorRequired: false }) : offline ? undefined : publicGoodTuf(defaults);
    spec = { ...base, start: { kind: 'embedded' }, tuf, refresh: !offline };
  } else if (file !== undefined) {
    if (file === '') reader.problem('file', 'must not be empty');
    if (tufBlock) reader.problem('tuf', 'cannot be combined with file: a root comes from a file or from its TUF repository');
    spec = { ...base, start: { kind: 'file', path: file }, tuf: undefined, refresh: false };
  } else if (tufBlock) {
    spec = { ...base, start: { kind: 'tuf' }, tuf: tufSettings(tufBlock, defaults, { mirrorRequired: true }), refresh: !offline };
  } else {
    reader.problem('', `needs file = "<trusted_root.json>" or tuf { mirror_url, root_file } (only "${PUBLIC_GOOD}" is built in)`);
    spec = { ...base, start: { kind: 'embedded' }, tuf: undefined, refresh: false };
  }
  reader.finish();
  return spec;
}

function publicGoodTuf(defaults: TufDefaults): TufSettings {
  return {
    mirrorUrl: defaults.mirrorUrl ?? PUBLIC_GOOD_TUF,
    cacheDir: defaults.cacheDir ?? DEFAULT_TUF_CACHE_DIR,
    rootFile: defaults.rootFile,
    intervalMs: DEFAULT_TUF_REFRESH_S * 1000,
    timeoutMs: TUF_TIMEOUT_MS,
  };
}

// `tuf { mirror_url, cache_dir, root_file, refresh_interval_s }`. The
// public-good mirror needs no root_file (@sigstore/tuf ships its root.json);
// any other mirror does, being a trust anchor of its own.
function tufSettings(block: ConfigReader, defaults: TufDefaults, options: { mirrorRequired: boolean }): TufSettings {
  const publicGood = publicGoodTuf(defaults);
  const mirror = block.string('mirror_url');
  const mirrorUrl = mirror ?? publicGood.mirrorUrl;
  const cacheDir = block.string('cache_dir') ?? publicGood.cacheDir;
  const rootFile = block.string('root_file') ?? (mirror === undefined ? publicGood.rootFile : undefined);
  const intervalS = block.integer('refresh_interval_s', 60, 7 * 24 * 3600) ?? DEFAULT_TUF_REFRESH_S;
  if (mirror === undefined && options.mirrorRequired) block.problem('mirror_url', 'is required (the TUF repository of this root)');
  if (!/^https?:\/\//.test(mirrorUrl)) block.problem('mirror_url', `must be an http(s) URL, got "${mirrorUrl}"`);
  if (options.mirrorRequired && mirror !== undefined && mirror !== PUBLIC_GOOD_TUF && rootFile === undefined) {
    block.problem('root_file', 'is required: the TUF root.json this repository is trusted by');
  }
  if (cacheDir === '') block.problem('cache_dir', 'must not be empty');
  block.finish();
  return { mirrorUrl, cacheDir, rootFile, intervalMs: intervalS * 1000, timeoutMs: TUF_TIMEOUT_MS };
}

// Every root a rule names must be configured.
function checkRuleRoots(root: ConfigReader, rules: RootRules, names: readonly string[]): void {
  const check = (where: string, roots: readonly string[] | undefined): void => {
    for (const name of roots ?? []) {
      if (name !== '' && !names.includes(name)) {
        root.problem(`${where}.trusted_roots`, `"${name}" is not a configured trusted root (configured: ${names.join(', ')})`);
      }
    }
  };
  rules.identities.forEach((rule, i) => check(`identity[${i}]`, rule.trustedRoots));
  rules.keys.forEach((rule, i) => check(`key[${i}]`, rule.trustedRoots));
}
