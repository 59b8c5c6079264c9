// Every parser of bytes we do not control, as a fuzz target: a generator
// (random bytes and text, and valid documents with one part mutated) and a
// call that checks the properties (a value or one of our typed errors, never
// an unclassified exception, a hang or a partial result; round trips where
// the format has a printer; differentials against JSON.parse where a strict
// reader must agree with it).

import { sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

import fc from 'fast-check';

import { AttestorError } from '../../src/errors.js';
import { parseHcl } from '../../src/config/hcl.js';
import { buildConfig } from '../../src/config/build.js';
import { LOG_LEVELS } from '../../src/log.js';
import { containerCgroupRoot, containerIdFromCgroups, parseCgroupFile } from '../../src/process/cgroup.js';
import { parseTokenResponse, pickChallenge } from '../../src/registry/auth.js';
import { parseWwwAuthenticate } from '../../src/registry/challenge.js';
import { CredentialStore, credentialFromAuthEntry, credentialFromHelperOutput, normalizeServerKey } from '../../src/registry/credentials.js';
import { nodePlatform, parseManifest, selectPlatform } from '../../src/registry/manifest.js';
import { formatReference, manifestReferenceOf, parseReference, repoDigestOf } from '../../src/registry/reference.js';
import { DockerApiClient } from '../../src/runtime/docker.js';
import { criImageRef, imageConfig, indexEntries, manifestConfig } from '../../src/runtime/containerd/oci.js';
import {
  containerRecord,
  imageRecord,
  infoRecord,
  listedInfos,
  readChunk,
  snapshotRecord,
  specEnv,
  taskRecord,
  versionOf,
} from '../../src/runtime/containerd/wire.js';
import { isDigest } from '../../src/util/digest.js';
import { prepareBundle } from '../../src/verify/bundle.js';
import { checkContent, checkSimpleSigning, checkStatement } from '../../src/verify/checks.js';
import { SignatureError } from '../../src/verify/errors.js';
import { verifyIntotoV001Entries } from '../../src/verify/intoto-v001.js';
import { field, parseStrictJson } from '../../src/verify/json.js';
import { prepareLegacyAttestation } from '../../src/verify/legacy-att.js';
import { prepareLegacy } from '../../src/verify/legacy.js';
import { readProvenance } from '../../src/verify/provenance.js';
import { checkTLogKeyBinding, recordedSigners } from '../../src/verify/tlogbody.js';
import { createTrust, parseKey } from '../../src/verify/trust.js';

import { anyJson, documentBytes, mutatedBytes, mutatedJson, randomText } from './generators.js';
import { check, fail, outcome, outcomeAsync, target } from './harness.js';
import * as S from './seeds.js';

import type { TransparencyLogEntry } from '@sigstore/bundle';
import type { SignedEntity, TrustMaterial } from '@sigstore/verify';
import type { Server } from 'node:http';
import type { Digest } from '../../src/util/digest.js';
import type { JsonValue } from '../../src/util/strict-json.js';
import type { PreparedSignature } from '../../src/verify/types.js';
import type { Allowed, AnyTarget } from './harness.js';

const attestor = (...codes: string[]): Allowed => ({ type: AttestorError, codes });
const signature = (...codes: string[]): Allowed => ({ type: SignatureError, codes });
const MALFORMED = signature('SIGNATURE_MALFORMED', 'UNSUPPORTED');
const isString = (v: unknown): v is string => typeof v === 'string';
const allStrings = (record: unknown): boolean => typeof record === 'object' && record !== null && Object.values(record).every(isString);
const asText = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const jsonOrRaw = (b: Buffer): unknown => {
  try {
    return JSON.parse(b.toString('utf8')) as unknown;
  } catch {
    return b.toString('utf8');
  }
};
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

// ---------------------------------------------------------------- cgroup

const ID = 'a'.repeat(64);
const ID2 = '0123456789abcdef'.repeat(4);
const cgroupLine = fc.oneof(
  fc.constantFrom(
    `0::/system.slice/docker-${ID}.scope`,
    `12:pids:/docker/${ID}`,
    `3:cpu,cpuacct:/kubepods/besteffort/pod1234/${ID}`,
    `1:name=systemd:/machine.slice/libpod-${ID}.scope/container`,
    `0::/kubepods.slice/kubepods-besteffort-pod12_34.slice:cri-containerd:${ID2}`,
    `0::/system.slice/crio-conmon-${ID}.scope`,
    `0::/libpod_parent/libpod-${ID2}`,
    '0::/k8s.io/my-container.1',
    '0::/default/abc',
    '0::/',
    '1:name=systemd:/init.scope',
    '',
  ),
  fc
    .tuple(
      fc.nat({ max: 20 }),
      fc.array(fc.constantFrom('cpu', 'pids', 'name=systemd', '', 'memory'), { maxLength: 3 }),
      fc.array(fc.oneof(fc.constantFrom(ID, ID2, `docker-${ID}.scope`, 'docker', 'k8s.io', 'default', 'kubepods', ''), fc.string({ maxLength: 12 })), {
        maxLength: 6,
      }),
    )
    .map(([h, c, p]) => `${h}:${c.join(',')}:/${p.join('/')}`),
);
const cgroupText = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.array(cgroupLine, { maxLength: 8 }), fc.constantFrom('\n', '\r\n')).map(([lines, eol]) => lines.join(eol)) },
  { weight: 2, arbitrary: fc.array(cgroupLine, { maxLength: 8 }).chain((lines) => mutatedBytes(lines.join('\n')).map(asText)) },
  { weight: 1, arbitrary: randomText },
  { weight: 1, arbitrary: fc.constantFrom('0::/\n'.repeat(513), `0::/${'a'.repeat(70_000)}`, '\n\n0::/\n', `0::/${'é'.repeat(40_000)}`) },
);

const cgroupTarget = target({
  name: 'cgroup',
  covers: 'src/process/cgroup.ts: parseCgroupFile, containerIdFromCgroups, containerCgroupRoot (/proc/<pid>/cgroup text)',
  weight: 14,
  arbitrary: fc.tuple(cgroupText, fc.constantFrom<string[]>([], ['k8s.io', 'default'])),
  run: ([text, namespaces]) => {
    const parsed = outcome('parseCgroupFile', [attestor('PROC_UNREADABLE')], () => parseCgroupFile(text));
    if (!parsed.ok) return;
    for (const line of parsed.value) {
      check(/^[0-9]+$/.test(line.hierarchyId) && line.path.startsWith('/') && line.controllers.every(isString), `ill-formed line ${JSON.stringify(line)}`);
    }
    // print -> parse round trip
    const printed = parsed.value.map((l) => `${l.hierarchyId}:${l.controllers.join(',')}:${l.path}`).join('\n');
    const again = outcome('parseCgroupFile (reprinted)', [], () => parseCgroupFile(printed));
    check(again.ok && isDeepStrictEqual(again.value, parsed.value), `round trip differs for ${JSON.stringify(printed)}`);
    const found = outcome('containerIdFromCgroups', [attestor('CONTAINER_AMBIGUOUS')], () => containerIdFromCgroups(parsed.value, 'fuzz', namespaces));
    if (!found.ok || found.value === undefined) return;
    const m = found.value;
    check(
      parsed.value.some((l) => l.path === m.path),
      'match path is not one of the lines',
    );
    check(/^[0-9a-f]{64}$/.test(m.id) || (m.namespace !== undefined && namespaces.includes(m.namespace)), `id ${m.id} is neither 64 hex nor namespaced`);
    const root = containerCgroupRoot(m.path, namespaces);
    check(root !== undefined && m.path.startsWith(root) && (root.split('/').pop() ?? '').includes(m.id), `cgroup root ${String(root)} of ${m.path}`);
  },
});

// ---------------------------------------------------------------- image references

const pathComponent = fc.oneof(
  fc.constantFrom('library', 'busybox', 'acme', 'a', 'app_1', 'x__y', 'a-b--c', 'A', 'a.b', '_a', 'a-', ''),
  fc.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4})?$/),
);
const registryPart = fc.constantFrom(
  '',
  'docker.io/',
  'index.docker.io/',
  'registry-1.docker.io/',
  'localhost/',
  'localhost:5000/',
  '127.0.0.1:5000/',
  '[::1]:5000/',
  'Registry.Test/',
  'ghcr.io/',
  'a..b/',
  'host:99999/',
  '-x.io/',
);
const tagPart = fc.oneof(
  fc.constantFrom('', ':latest', ':1.0', ':_x', ':.bad', ':', `:${'t'.repeat(128)}`, `:${'t'.repeat(129)}`),
  fc.stringMatching(/^:[\w][\w.-]{0,6}$/),
);
const digestPart = fc.constantFrom(
  '',
  `@sha256:${'a'.repeat(64)}`,
  `@sha512:${'b'.repeat(128)}`,
  '@sha256:abc',
  `@sha256:${'A'.repeat(64)}`,
  '@',
  `@md5:${'a'.repeat(32)}`,
);
const structuredReference = fc
  .tuple(registryPart, fc.array(pathComponent, { minLength: 1, maxLength: 4 }), tagPart, digestPart)
  .map(([r, p, t, d]) => `${r}${p.join('/')}${t}${d}`);
const referenceText = fc.oneof(
  { weight: 4, arbitrary: structuredReference },
  { weight: 2, arbitrary: structuredReference.chain((r) => mutatedBytes(r).map(asText)) },
  { weight: 1, arbitrary: randomText },
  { weight: 1, arbitrary: fc.constantFrom('a'.repeat(64), `${'a/'.repeat(130)}a`, 'x'.repeat(1025), `docker.io/${'a'.repeat(250)}`) },
);

const referenceTarget = target({
  name: 'reference',
  covers: 'src/registry/reference.ts: parseReference, repoDigestOf, formatReference round trip (image references)',
  weight: 14,
  arbitrary: referenceText,
  run: (text) => {
    const allowed = [attestor('REFERENCE_INVALID')];
    const parsed = outcome('parseReference', allowed, () => parseReference(text));
    outcome('repoDigestOf', allowed, () => repoDigestOf(text));
    if (!parsed.ok) return;
    const r = parsed.value;
    check(r.registry !== '' && r.repository !== '' && r.original === text, `incomplete reference ${JSON.stringify(r)}`);
    check(
      r.repository.split('/').every((c) => /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(c)),
      `repository ${r.repository} is not lowercase components`,
    );
    check(r.digest === undefined || isDigest(r.digest), `digest ${String(r.digest)}`);
    check(r.tag === undefined || /^[\w][\w.-]{0,127}$/.test(r.tag), `tag ${String(r.tag)}`);
    check(isString(manifestReferenceOf(r)), 'manifestReferenceOf');
    // parse -> print -> parse
    const printed = formatReference(r);
    const again = outcome('parseReference (formatted)', [], () => parseReference(printed));
    check(again.ok, 'formatted reference does not parse');
    const { original: _a, ...first } = r;
    const { original: _b, ...second } = again.value;
    check(isDeepStrictEqual(first, second), `round trip ${JSON.stringify(text)} -> ${printed} differs`);
  },
});

// ---------------------------------------------------------------- manifests and indexes

const contentType = fc.constantFrom(
  null,
  undefined,
  '',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json; charset=utf-8',
  'APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON',
  'application/json',
  ';',
);
const manifestTarget = target({
  name: 'manifest',
  covers: 'src/registry/manifest.ts: parseManifest (OCI/Docker manifests and indexes), selectPlatform',
  weight: 14,
  arbitrary: fc.tuple(documentBytes([S.OCI_MANIFEST, S.DOCKER_MANIFEST, S.OCI_INDEX]), contentType),
  run: ([bytes, type]) => {
    const allowed = [attestor('REGISTRY_RESPONSE')];
    const parsed = outcome('parseManifest', allowed, () => parseManifest(bytes, type));
    if (!parsed.ok) return;
    const m = parsed.value;
    const descriptors = m.kind === 'index' ? [...m.manifests] : [m.config, ...m.layers];
    if (m.subject !== undefined) descriptors.push(m.subject);
    for (const d of descriptors) {
      check(isDigest(d.digest) && Number.isSafeInteger(d.size) && d.size >= 0 && d.mediaType !== '', `bad descriptor ${JSON.stringify(d)}`);
      check(d.annotations === undefined || allStrings(d.annotations), 'annotation values are not all strings');
      check(d.platform === undefined || (isString(d.platform.os) && isString(d.platform.architecture)), 'bad platform');
    }
    // parse -> print -> parse: what was read survives re-serialization.
    const { kind: _kind, ...rest } = m;
    const again = outcome('parseManifest (reprinted)', [], () => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, ...rest })), type));
    check(again.ok && isDeepStrictEqual(again.value, m), 'round trip differs');
    if (m.kind === 'index') {
      for (const want of [nodePlatform(), nodePlatform('arm', 'linux', '6'), nodePlatform('arm64'), { os: 'linux', architecture: 'amd64', variant: 'v2' }]) {
        const picked = outcome('selectPlatform', [], () => selectPlatform(m, want));
        check(picked.ok && (picked.value === undefined || m.manifests.includes(picked.value)), 'selectPlatform picked a foreign entry');
      }
    }
  },
});

// ---------------------------------------------------------------- WWW-Authenticate

const tokenChars = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}$/);
const paramName = fc.oneof(fc.constantFrom('realm', 'service', 'scope', 'error', 'REALM', '__proto__', 'constructor', 'toString'), tokenChars);
const challengeArb = fc.record({
  scheme: fc.oneof(fc.constantFrom('Bearer', 'Basic', 'bearer', 'Negotiate', 'Digest'), tokenChars),
  params: fc.dictionary(
    paramName,
    fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('https://auth.test/token', 'a,b', '"', '\\', 'repository:a/b:pull,push')),
    { maxKeys: 4 },
  ),
});
const quote = (v: string): string => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const printChallenges = (cs: readonly { scheme: string; params: Record<string, string> }[]): string =>
  cs
    .map((c) => {
      const params = Object.entries(c.params).map(([k, v]) => `${k}=${quote(v)}`);
      return params.length === 0 ? c.scheme : `${c.scheme} ${params.join(', ')}`;
    })
    .join(', ');
const headerArb = fc.oneof(
  { weight: 3, arbitrary: fc.array(challengeArb, { maxLength: 3 }).map(printChallenges) },
  { weight: 2, arbitrary: fc.array(challengeArb, { minLength: 1, maxLength: 3 }).chain((cs) => mutatedBytes(printChallenges(cs)).map(asText)) },
  { weight: 1, arbitrary: randomText },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'Negotiate abc==, Basic realm=x',
      'Bearer realm=',
      'Bearer realm="unterminated',
      `Bearer ${'a='.repeat(10_000)}`,
      ','.repeat(20_000),
    ),
  },
);

const challengeTarget = target({
  name: 'www-authenticate',
  covers: 'src/registry/challenge.ts: parseWwwAuthenticate (round trip through a printer); auth.ts pickChallenge',
  weight: 14,
  arbitrary: headerArb,
  run: (header) => {
    const parsed = outcome('parseWwwAuthenticate', [], () => parseWwwAuthenticate(header));
    check(parsed.ok, 'parseWwwAuthenticate threw');
    for (const c of parsed.value) {
      check(/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(c.scheme), `scheme ${JSON.stringify(c.scheme)}`);
      check(
        Object.entries(c.params).every(([k, v]) => /^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(k) && isString(v)),
        'bad param',
      );
    }
    outcome('pickChallenge', [], () => pickChallenge(parsed.value));
    // parse -> print -> parse
    const printed = printChallenges(parsed.value.map((c) => ({ scheme: c.scheme, params: { ...c.params } })));
    const again = outcome('parseWwwAuthenticate (reprinted)', [], () => parseWwwAuthenticate(printed));
    check(
      again.ok &&
        isDeepStrictEqual(
          again.value.map((c) => ({ ...c, params: { ...c.params } })),
          parsed.value.map((c) => ({ ...c, params: { ...c.params } })),
        ),
      `round trip differs: ${printed}`,
    );
  },
});

// A generated challenge, printed, must parse back to itself (no param lost).
const challengeRoundTripTarget = target({
  name: 'www-authenticate-print',
  covers: 'src/registry/challenge.ts: print -> parse of generated challenges keeps every scheme and param',
  weight: 6,
  arbitrary: fc.array(challengeArb, { maxLength: 3 }),
  run: (cs) => {
    const parsed = outcome('parseWwwAuthenticate', [], () => parseWwwAuthenticate(printChallenges(cs)));
    check(parsed.ok, 'threw');
    const want = cs.map((c) => ({
      scheme: c.scheme.toLowerCase(),
      params: Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k.toLowerCase(), v])),
    }));
    const got = parsed.value.map((c) => ({ scheme: c.scheme, params: Object.fromEntries(Object.entries(c.params)) }));
    check(isDeepStrictEqual(got, want), `printed ${JSON.stringify(printChallenges(cs))} parsed as ${JSON.stringify(got)}`);
  },
});

// ---------------------------------------------------------------- token responses

const tokenTarget = target({
  name: 'token-response',
  covers: 'src/registry/auth.ts: parseTokenResponse (token service answers)',
  weight: 8,
  arbitrary: documentBytes([
    { token: 'abc.def', expires_in: 300, issued_at: '2026-01-01T00:00:00Z' },
    { access_token: 'xyz', expires_in: 1 },
    { token: '', access_token: 'y' },
  ]),
  run: (bytes) => {
    const parsed = outcome('parseTokenResponse', [attestor('REGISTRY_RESPONSE')], () => parseTokenResponse(bytes, 'https://auth.test/token'));
    if (!parsed.ok) return;
    check(parsed.value.token !== '' && !/[\s\u0000-\u001f]/.test(parsed.value.token), 'malformed token accepted');
    check(
      typeof parsed.value.lifetimeMs === 'number' && parsed.value.lifetimeMs >= 0 && !Number.isNaN(parsed.value.lifetimeMs),
      `lifetime ${parsed.value.lifetimeMs}`,
    );
  },
});

// ---------------------------------------------------------------- Docker config and credential helpers

const credentialChecks = (c: ReturnType<typeof credentialFromAuthEntry>): void => {
  if (c === undefined) return;
  if (c.kind === 'basic') check(c.username !== '' && isString(c.password), 'basic credential without user name');
  else check(c.token !== '', 'empty token');
};
const helperTarget = target({
  name: 'credential-helper',
  covers: 'src/registry/credentials.ts: credentialFromHelperOutput (helper stdout), credentialFromAuthEntry (config auths entries)',
  weight: 8,
  arbitrary: fc.tuple(
    fc.oneof(
      documentBytes([S.HELPER_OUTPUT, { Username: '<token>', Secret: 'id' }]).map((b) => b.toString('utf8')),
      randomText,
    ),
    fc.oneof(...Object.values(S.DOCKER_CONFIG.auths).map((e) => mutatedJson(e)), anyJson),
  ),
  run: ([stdout, entry]) => {
    const allowed = [attestor('REGISTRY_AUTH')];
    const fromHelper = outcome('credentialFromHelperOutput', allowed, () => credentialFromHelperOutput(stdout, 'fuzz helper'));
    if (fromHelper.ok) credentialChecks(fromHelper.value);
    const fromEntry = outcome('credentialFromAuthEntry', allowed, () => credentialFromAuthEntry(entry, 'fuzz config'));
    if (fromEntry.ok) credentialChecks(fromEntry.value);
  },
});

let configDir: string | undefined;
const dockerConfigTarget = target({
  name: 'docker-config',
  covers: 'src/registry/credentials.ts: CredentialStore.lookup over a Docker config.json (no helper installed)',
  weight: 2,
  cost: 4,
  async: true,
  arbitrary: fc.tuple(documentBytes([S.DOCKER_CONFIG]), fc.constantFrom('docker.io', 'ghcr.io', 'registry.test:5000', 'quay.io', 'gcr.io', 'other.test')),
  setup: async () => {
    configDir = mkdtempSync(join(tmpdir(), 'ssa-fuzz-config-'));
  },
  teardown: async () => {
    if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
    configDir = undefined;
  },
  run: async ([bytes, registry]) => {
    if (configDir === undefined) configDir = mkdtempSync(join(tmpdir(), 'ssa-fuzz-config-'));
    const path = join(configDir, 'config.json');
    writeFileSync(path, bytes, { mode: 0o600 });
    const store = new CredentialStore({ dockerConfigPath: path, env: { PATH: configDir }, helperTimeoutMs: 500 });
    const found = await outcomeAsync('CredentialStore.lookup', [attestor('REGISTRY_AUTH')], () => store.lookup(registry, AbortSignal.timeout(900)));
    if (found.ok) credentialChecks(found.value);
    check(isString(normalizeServerKey(registry)), 'normalizeServerKey');
  },
});

// ---------------------------------------------------------------- plugin_data (HCL v1 and JSON)

const jsonExamples = S.PLUGIN_DATA_EXAMPLES.map((t) => parseHcl(t));
const pluginDataText = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...S.PLUGIN_DATA_EXAMPLES) },
  { weight: 3, arbitrary: fc.oneof(...S.PLUGIN_DATA_EXAMPLES.map((t) => mutatedBytes(t).map((b) => b.toString('utf8')))) },
  { weight: 3, arbitrary: fc.oneof(...jsonExamples.map((j) => mutatedJson(j, 3))).map((d) => JSON.stringify(d) ?? 'null') },
  { weight: 1, arbitrary: randomText },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'a = ',
      '{',
      'a = [',
      'a { b = 1 ',
      '/* x',
      '"a" = 1',
      'a = 1\na = 2',
      'a = "\\x"',
      '{"a": {"b": [{}]}}',
      'x'.repeat(1024 * 1024 + 1),
    ),
  },
);
const pluginDataTarget = target({
  name: 'plugin-data',
  covers: 'src/config/hcl.ts parseHcl + src/config/build.ts buildConfig (plugin_data, HCL v1 and JSON)',
  weight: 1,
  cost: 25,
  arbitrary: pluginDataText,
  run: (text) => {
    const allowed = [attestor('CONFIG_SYNTAX', 'CONFIG_INVALID')];
    const decoded = outcome('parseHcl', [attestor('CONFIG_SYNTAX')], () => parseHcl(text));
    const built = outcome('buildConfig', allowed, () => buildConfig(text));
    if (!decoded.ok) check(!built.ok, 'buildConfig accepted what parseHcl refused');
    if (!built.ok) return;
    const c = built.value;
    check(/^[0-9a-f]{64}$/.test(c.fingerprint) && LOG_LEVELS.includes(c.logLevel), 'bad fingerprint or log level');
    check(c.registry.timeoutMs >= 100 && c.verdicts.refreshMs > 0 && c.verdicts.maxStaleMs >= c.verdicts.refreshMs, 'bad numbers');
    check(c.runtimes.dockerSocketPath.startsWith('unix:///') && c.runtimes.containerdNamespaces.every(isString), 'bad runtime endpoints');
  },
});

// ---------------------------------------------------------------- strict JSON

// Case variants Go's EqualFold treats as the same key (Kelvin sign, long s).
const foldVariant = (name: string): fc.Arbitrary<string> =>
  fc
    .tuple(
      ...[...name].map((ch) =>
        fc.constantFrom(
          ...new Set([
            ch,
            ch.toUpperCase(),
            ch.toLowerCase(),
            ...(ch.toLowerCase() === 'k' ? ['\u212a'] : []),
            ...(ch.toLowerCase() === 's' ? ['\u017f'] : []),
          ]),
        ),
      ),
    )
    .map((chars) => chars.join(''));
const FIELD_NAMES = [
  'docker-manifest-digest',
  'critical',
  'image',
  'type',
  'kind',
  'spec',
  'apiVersion',
  'subject',
  'digest',
  'predicateType',
  'SignedEntryTimestamp',
  'Payload',
];

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : value,
  );
function hasFoldCollision(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasFoldCollision);
  if (typeof v !== 'object' || v === null) return false;
  const folded = Object.keys(v).map((k) => k.toUpperCase().toLowerCase());
  return new Set(folded).size !== folded.length || Object.values(v).some(hasFoldCollision);
}
const depth = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);

const strictJsonTarget = target({
  name: 'strict-json',
  covers: 'src/util/strict-json.ts via verify/json.ts parseStrictJson/field: differential against JSON.parse, Go case-fold variants',
  weight: 14,
  arbitrary: fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'valid' as const, bytes: Buffer.from(JSON.stringify(v)) })) },
    { weight: 3, arbitrary: documentBytes([S.SIMPLE_SIGNING, S.COSIGN_STATEMENT, S.DSSE_V001_BODY]).map((bytes) => ({ kind: 'bytes' as const, bytes })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('[', '['.repeat(70) + ']'.repeat(70), '{"a":1,"A":2}', '{"k":1,"\u212a":2}', '\ufeff{}', '"\\ud800"', '1e400', '-0', ' 1 ', '01')
        .map((t) => ({ kind: 'bytes' as const, bytes: Buffer.from(t) })),
    },
    { weight: 2, arbitrary: fc.constantFrom(...FIELD_NAMES).chain((name) => foldVariant(name).map((variant) => ({ kind: 'field' as const, name, variant }))) },
  ),
  run: (input) => {
    if (input.kind === 'field') {
      const obj = parseStrictJson(Buffer.from(JSON.stringify({ [input.variant]: 1 })), 'fuzz');
      const got = outcome('field', [signature('SIGNATURE_MALFORMED')], () => field(obj as Record<string, JsonValue>, input.name, 'fuzz'));
      if (input.variant === input.name) check(got.ok && got.value === 1, 'exact key not read');
      else check(!got.ok, `case variant ${JSON.stringify(input.variant)} of ${input.name} was not refused`);
      return;
    }
    const strict = outcome('parseStrictJson', [signature('SIGNATURE_MALFORMED')], () => parseStrictJson(input.bytes, 'fuzz'));
    let loose: unknown;
    let looseOk = true;
    try {
      loose = JSON.parse(input.bytes.toString('utf8'));
    } catch {
      looseOk = false;
    }
    if (strict.ok) {
      check(looseOk, 'strict accepted what JSON.parse refuses');
      check(canonical(strict.value) === canonical(loose), 'strict and JSON.parse disagree');
    } else if (input.kind === 'valid' && !hasFoldCollision(loose) && depth(loose) <= 64) {
      fail(`strict refused valid JSON: ${strict.error.message}`);
    }
  },
});

// ---------------------------------------------------------------- Sigstore bundles

const bundleArb = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom<unknown>(S.BUNDLE_V03, S.OCI_ATTESTATION_BUNDLE) },
  { weight: 6, arbitrary: fc.oneof(mutatedJson(S.BUNDLE_V03, 2), mutatedJson(S.OCI_ATTESTATION_BUNDLE, 2)) },
  { weight: 2, arbitrary: fc.oneof(mutatedBytes(JSON.stringify(S.BUNDLE_V03)), mutatedBytes(JSON.stringify(S.OCI_ATTESTATION_BUNDLE))).map(jsonOrRaw) },
  { weight: 1, arbitrary: anyJson },
);

function checkPrepared(p: PreparedSignature, imageDigest: Digest, stored: 'sig' | 'att' | 'bundle'): void {
  check(typeof p.entity === 'object' && p.entity !== null && Buffer.isBuffer(p.content.payload), 'prepared signature without entity or payload');
  check(p.leafDer === undefined || (Buffer.isBuffer(p.leafDer) && p.leafDer.length > 0), 'empty leaf');
  const verdict = outcome('checkContent', [signature('PAYLOAD_MISMATCH', 'SIGNATURE_MALFORMED')], () => checkContent(p.content, imageDigest, stored));
  if (verdict.ok && verdict.value.kind === 'attestation') {
    const { predicateType, predicate } = verdict.value;
    outcome('readProvenance', [signature('SIGNATURE_MALFORMED')], () => readProvenance(predicateType, predicate));
  }
}

const bundleTarget = target({
  name: 'sigstore-bundle',
  covers: 'src/verify/bundle.ts prepareBundle (+ checkContent) on Sigstore bundle v0.3 JSON',
  weight: 3,
  cost: 3,
  arbitrary: bundleArb,
  run: (bundle) => {
    const prepared = outcome('prepareBundle', [MALFORMED], () =>
      prepareBundle({ format: 'bundle', imageDigest: S.IMAGE_DIGEST, bundle, manifestDigest: S.OTHER_DIGEST }),
    );
    if (!prepared.ok) return;
    check(prepared.value.content.kind === 'dsse', 'bundle content is not DSSE');
    checkPrepared(prepared.value, S.IMAGE_DIGEST, 'bundle');
  },
});

// ---------------------------------------------------------------- legacy signatures and annotations

const bodyString = (seed: unknown): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: mutatedJson(seed).map((d) => b64(JSON.stringify(d) ?? 'null')) },
    { weight: 1, arbitrary: mutatedBytes(JSON.stringify(seed)).map(b64) },
    { weight: 1, arbitrary: fc.oneof(randomText, fc.constant(b64(JSON.stringify(seed)))) },
  );
const rekorAnnotation = (bodySeed: unknown): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(bodyString(bodySeed), mutatedJson(S.rekorBundle(bodySeed))).map(([body, rb]) => withBody(rb, body)) },
    { weight: 1, arbitrary: mutatedBytes(JSON.stringify(S.rekorBundle(bodySeed))).map((b) => b.toString('utf8')) },
    { weight: 1, arbitrary: fc.constant(JSON.stringify(S.rekorBundle(bodySeed))) },
  );
function withBody(rb: unknown, body: string): string {
  const payload = (rb as { Payload?: unknown } | null)?.Payload;
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload) && 'body' in payload) (payload as Record<string, unknown>)['body'] = body;
  return JSON.stringify(rb) ?? 'null';
}
const pemArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(S.LEAF_PEM) },
  { weight: 3, arbitrary: mutatedBytes(S.LEAF_PEM).map((b) => b.toString('utf8')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      S.PUBLIC_KEY_PEM,
      `${S.LEAF_PEM}${S.LEAF_PEM}`,
      '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END PUBLIC KEY-----',
    ),
  },
  { weight: 1, arbitrary: randomText },
);
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined, freq: 4 });
const annotationsArb = (bodySeeds: readonly unknown[], signatureValue: fc.Arbitrary<string>): fc.Arbitrary<Record<string, string>> =>
  fc
    .record({
      signature: signatureValue,
      certificate: optional(pemArb),
      bundle: optional(fc.oneof(...bodySeeds.map(rekorAnnotation))),
      rfc3161: optional(
        fc.oneof(
          mutatedJson(S.RFC3161_ANNOTATION).map((d) => JSON.stringify(d) ?? 'null'),
          randomText,
        ),
      ),
    })
    .map((a) => {
      const out: Record<string, string> = { 'dev.cosignproject.cosign/signature': a.signature };
      if (a.certificate !== undefined) out['dev.sigstore.cosign/certificate'] = a.certificate;
      if (a.bundle !== undefined) out['dev.sigstore.cosign/bundle'] = a.bundle;
      if (a.rfc3161 !== undefined) out['dev.sigstore.cosign/rfc3161timestamp'] = a.rfc3161;
      return out;
    });

const legacyTarget = target({
  name: 'legacy-signature',
  covers: 'src/verify/legacy.ts prepareLegacy (.sig layer annotations: signature, certificate, Rekor bundle, RFC 3161) + checks.ts checkSimpleSigning',
  weight: 5,
  cost: 2,
  arbitrary: fc.tuple(
    documentBytes([S.SIMPLE_SIGNING]),
    annotationsArb([S.HASHEDREKORD_V001_BODY, S.INTOTO_V002_BODY], fc.oneof(fc.constant(b64('a'.repeat(64))), fc.constantFrom('', 'AAA', 'A==='), randomText)),
  ),
  run: ([payload, annotations]) => {
    const candidate = { format: 'legacy' as const, imageDigest: S.IMAGE_DIGEST, payload, layerDigest: S.OTHER_DIGEST, annotations };
    const prepared = outcome('prepareLegacy', [MALFORMED], () => prepareLegacy(candidate));
    if (prepared.ok) {
      check(prepared.value.content.kind === 'simple-signing' && prepared.value.content.payload.equals(payload), 'payload not carried through');
      checkPrepared(prepared.value, S.IMAGE_DIGEST, 'sig');
    }
    // The simple-signing payload on its own, with a differential: what
    // checkSimpleSigning accepts names the image for JSON.parse too.
    const simple = outcome('checkSimpleSigning', [signature('PAYLOAD_MISMATCH', 'SIGNATURE_MALFORMED')], () => checkSimpleSigning(payload, S.IMAGE_DIGEST));
    if (simple.ok) {
      const doc = JSON.parse(payload.toString('utf8')) as { critical?: { image?: Record<string, unknown>; type?: unknown } };
      check(
        doc.critical?.image?.['docker-manifest-digest'] === S.IMAGE_DIGEST && doc.critical.type === 'cosign container image signature',
        'accepted payload does not name the image',
      );
    }
  },
});

// ---------------------------------------------------------------- DSSE envelopes, in-toto statements, provenance

const legacyAttTarget = target({
  name: 'legacy-attestation',
  covers: 'src/verify/legacy-att.ts prepareLegacyAttestation (.att DSSE envelope + annotations) + checkContent',
  weight: 6,
  arbitrary: fc.tuple(documentBytes([S.ENVELOPE]), annotationsArb([S.INTOTO_V001_BODY, S.INTOTO_V002_BODY, S.DSSE_V001_BODY], fc.constantFrom('', b64('x')))),
  run: ([envelope, annotations]) => {
    const candidate = { format: 'att' as const, imageDigest: S.IMAGE_DIGEST, envelope, layerDigest: S.OTHER_DIGEST, annotations };
    const prepared = outcome('prepareLegacyAttestation', [MALFORMED], () => prepareLegacyAttestation(candidate));
    if (!prepared.ok) return;
    check(prepared.value.content.kind === 'dsse' && prepared.value.envelope?.equals(envelope) === true, 'envelope not carried through');
    checkPrepared(prepared.value, S.IMAGE_DIGEST, 'att');
  },
});

const statementTarget = target({
  name: 'in-toto-statement',
  covers: 'src/verify/checks.ts checkStatement + provenance.ts readProvenance (DSSE payloads: in-toto Statements, SLSA v0.2/v1)',
  weight: 14,
  arbitrary: fc.tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/vnd.in-toto+json') },
      { weight: 1, arbitrary: fc.oneof(randomText, fc.constantFrom('application/vnd.in-toto+JSON', '')) },
    ),
    documentBytes([S.COSIGN_STATEMENT, S.SLSA_V1_STATEMENT, S.SLSA_V02_STATEMENT]),
    fc.constantFrom<Digest>(S.IMAGE_DIGEST, S.OTHER_DIGEST, `sha512:${'0'.repeat(128)}`),
  ),
  run: ([payloadType, payload, digest]) => {
    const st = outcome('checkStatement', [signature('PAYLOAD_MISMATCH', 'SIGNATURE_MALFORMED')], () => checkStatement(payloadType, payload, digest));
    if (!st.ok) return;
    check(st.value.predicateType !== '', 'empty predicate type');
    // Differential: JSON.parse sees the same subject.
    const doc = JSON.parse(payload.toString('utf8')) as { subject?: { digest?: Record<string, unknown> }[]; predicateType?: unknown };
    const [alg, hex] = digest.split(':') as [string, string];
    check(Array.isArray(doc.subject) && doc.subject.some((s) => s.digest?.[alg] === hex), 'accepted statement does not name the digest for JSON.parse');
    check(doc.predicateType === st.value.predicateType, 'predicate type differs from JSON.parse');
    const prov = outcome('readProvenance', [signature('SIGNATURE_MALFORMED')], () => readProvenance(st.value.predicateType, st.value.predicate));
    if (prov.ok && prov.value !== undefined) {
      const p = prov.value;
      check(
        [p.builderId, p.buildType, p.sourceUri].every((v) => v === undefined || (isString(v) && v !== '')),
        'empty provenance field',
      );
      check(
        p.sourceDigests.every((d) => /^[^:]+:.+$/s.test(d)),
        'bad source digest',
      );
    }
  },
});

// ---------------------------------------------------------------- transparency-log entry bodies

const signerKey = { kind: 'key' as const, name: 'fuzz', spki: S.PUBLIC_KEY_DER };
const tlogBodyTarget = target({
  name: 'tlog-body',
  covers: 'src/verify/tlogbody.ts recordedSigners + checkTLogKeyBinding (Rekor v1/v2 entry bodies of every kind)',
  weight: 12,
  arbitrary: documentBytes([S.HASHEDREKORD_V001_BODY, S.DSSE_V001_BODY, S.INTOTO_V001_BODY, S.INTOTO_V002_BODY, S.HASHEDREKORD_V002_BODY, S.DSSE_V002_BODY]),
  run: (body) => {
    const recorded = outcome('recordedSigners', [MALFORMED], () => recordedSigners(body));
    const entries = [{ canonicalizedBody: body } as unknown as TransparencyLogEntry];
    const bound = outcome('checkTLogKeyBinding', [MALFORMED, signature('TLOG_KEY_MISMATCH')], () => checkTLogKeyBinding(entries, signerKey));
    if (!recorded.ok) {
      check(!bound.ok, 'binding passed for an unreadable body');
      return;
    }
    check(
      recorded.value.every((r) => (r.kind === 'certificate' ? r.der.length > 0 : r.spki.length > 0)),
      'empty recorded signer',
    );
    const allOurs = recorded.value.length > 0 && recorded.value.every((r) => r.kind === 'key' && r.spki.equals(S.PUBLIC_KEY_DER));
    check(bound.ok === allOurs, `binding ${bound.ok ? 'passed' : 'failed'} but the recorded signers are ${allOurs ? '' : 'not '}all the signer's key`);
  },
});

const tlogs: TrustMaterial['tlogs'] = [
  { logID: S.LOG_ID, publicKey: S.KEYS.publicKey, baseURL: 'https://rekor.fuzz', validFor: { start: new Date(0), end: new Date(8.64e15) } },
];
const material = { tlogs, ctlogs: [], certificateAuthorities: [], timestampAuthorities: [] } as unknown as TrustMaterial;
function setSignedEntry(body: Buffer): TransparencyLogEntry {
  const integratedTime = 1775719409;
  const logIndex = 7;
  const payload = JSON.stringify({ body: body.toString('base64'), integratedTime, logIndex, logID: S.LOG_ID.toString('hex') });
  return {
    logIndex: String(logIndex),
    logId: { keyId: S.LOG_ID },
    kindVersion: { kind: 'intoto', version: '0.0.1' },
    integratedTime: String(integratedTime),
    inclusionPromise: { signedEntryTimestamp: sign('sha256', Buffer.from(payload), S.KEYS.privateKey) },
    inclusionProof: undefined,
    canonicalizedBody: body,
  };
}
const intotoV001Target = target({
  name: 'intoto-v001-body',
  covers: 'src/verify/intoto-v001.ts verifyIntotoV001Entries (entry bodies behind a valid SET)',
  weight: 5,
  arbitrary: fc.tuple(
    documentBytes([S.INTOTO_V001_BODY]),
    fc.oneof({ weight: 4, arbitrary: fc.constant(S.ENVELOPE_BYTES) }, { weight: 1, arbitrary: mutatedBytes(S.ENVELOPE_BYTES) }),
  ),
  run: ([body, envelope]) => {
    const entity = { tlogEntries: [setSignedEntry(body)], timestamps: [] } as unknown as SignedEntity;
    const result = outcome('verifyIntotoV001Entries', [MALFORMED, signature('TLOG_INVALID')], () =>
      verifyIntotoV001Entries(entity, envelope, S.STATEMENT_BYTES, material),
    );
    if (!result.ok) return;
    check(result.value.verified === 1 && result.value.rest.tlogEntries.length === 0, 'entry neither verified nor refused');
    const doc = JSON.parse(body.toString('utf8')) as { spec?: { content?: { hash?: { value?: unknown } } } };
    check(doc.spec?.content?.hash?.value === S.sha256Hex(envelope), 'accepted a body whose hash JSON.parse reads differently');
  },
});

// ---------------------------------------------------------------- trusted roots and keys

const trustTarget = target({
  name: 'trusted-root',
  covers: 'src/verify/trust.ts createTrust (trusted_root.json) and parseKey (PEM public keys)',
  weight: 2,
  cost: 3,
  arbitrary: fc.tuple(
    fc.oneof(
      { weight: 1, arbitrary: fc.constant<unknown>(S.TRUSTED_ROOT) },
      { weight: 6, arbitrary: mutatedJson(S.TRUSTED_ROOT, 2) },
      { weight: 1, arbitrary: mutatedBytes(JSON.stringify(S.TRUSTED_ROOT)).map(jsonOrRaw) },
      { weight: 1, arbitrary: anyJson },
    ),
    fc.oneof(
      fc.constant(S.PUBLIC_KEY_PEM),
      mutatedBytes(S.PUBLIC_KEY_PEM).map((b) => b.toString('utf8')),
      pemArb,
    ),
  ),
  run: ([root, pem]) => {
    const trust = outcome('createTrust', [signature('TRUST_ROOT_INVALID', 'KEY_INVALID')], () => createTrust(root, 'fuzz', []));
    if (trust.ok) {
      const t = trust.value;
      check(/^[0-9a-f]{64}$/.test(t.fingerprint) && Array.isArray(t.material.tlogs) && Array.isArray(t.material.certificateAuthorities), 'bad trust context');
      check(t.material.tlogs.length + t.material.certificateAuthorities.length > 0, 'a root with nothing in it');
      outcome('verifier', [], () => t.verifier({ keyless: true, requireTlog: true, requireSct: true }));
    }
    const key = outcome('parseKey', [signature('KEY_INVALID')], () => parseKey('fuzz', pem, '/fuzz.pub'));
    if (key.ok) check(key.value.spki.length > 0 && ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa'].includes(key.value.algorithm), 'bad key');
  },
});

// ---------------------------------------------------------------- containerd answers

const leaf = fc.oneof(
  anyJson as fc.Arbitrary<unknown>,
  fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
  fc.anything({ maxDepth: 2 }),
  fc.constant(undefined),
);
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: leaf });
const timestamp = maybe(
  fc.record({
    seconds: maybe(fc.oneof(fc.constantFrom('1775719409', '-1', '99999999999999999999', '1e3'), fc.bigInt().map(String))),
    nanos: maybe(fc.integer()),
  }),
);
const labels = maybe(fc.dictionary(fc.string({ maxLength: 8 }), maybe(fc.string({ maxLength: 8 })), { maxKeys: 3 }));
const count = maybe(fc.oneof(fc.nat().map(String), fc.integer(), fc.constantFrom('18446744073709551615', '-1', '1.5', '')));
const wireResponse = fc.oneof(
  fc.record({
    kind: fc.constant('container' as const),
    r: maybe(
      fc.record({
        container: maybe(
          fc.record({
            id: maybe(fc.string()),
            labels,
            image: maybe(fc.string()),
            spec: maybe(fc.record({ value: leaf })),
            snapshotter: leaf,
            snapshot_key: leaf,
            created_at: timestamp,
            extensions: maybe(fc.dictionary(fc.string({ maxLength: 8 }), maybe(fc.record({ value: leaf })))),
          }),
        ),
      }),
    ),
  }),
  fc.record({ kind: fc.constant('task' as const), r: maybe(fc.record({ process: maybe(fc.record({ pid: count, status: leaf })) })) }),
  fc.record({
    kind: fc.constant('image' as const),
    r: maybe(fc.record({ image: maybe(fc.record({ name: leaf, target: maybe(fc.record({ media_type: leaf, digest: leaf })), updated_at: timestamp })) })),
  }),
  fc.record({
    kind: fc.constant('info' as const),
    r: maybe(fc.record({ info: maybe(fc.record({ digest: leaf, size: count, labels, created_at: timestamp })) })),
  }),
  fc.record({
    kind: fc.constant('list' as const),
    r: maybe(fc.record({ info: maybe(fc.array(maybe(fc.record({ digest: leaf, size: count, labels, created_at: timestamp })), { maxLength: 3 })) })),
  }),
  fc.record({ kind: fc.constant('chunk' as const), r: maybe(fc.record({ offset: count, data: leaf })) }),
  fc.record({ kind: fc.constant('snapshot' as const), r: maybe(fc.record({ info: maybe(fc.record({ parent: leaf, created_at: timestamp })) })) }),
  fc.record({ kind: fc.constant('version' as const), r: maybe(fc.record({ version: leaf })) }),
  fc.record({ kind: fc.constant('spec' as const), r: documentBytes([S.OCI_SPEC]) }),
);
const isCount = (n: unknown): boolean => typeof n === 'number' && (n === -1 || (Number.isSafeInteger(n) && n >= 0));
const isTime = (t: unknown): boolean => t === undefined || typeof t === 'bigint';

const containerdWireTarget = target({
  name: 'containerd-wire',
  covers: 'src/runtime/containerd/wire.ts: every decoded-message reader (container, task, image, content info, read chunk, snapshot, version, OCI spec env)',
  weight: 14,
  arbitrary: wireResponse,
  run: (input) => {
    const none = [] as const;
    switch (input.kind) {
      case 'container': {
        const c = outcome('containerRecord', none, () => containerRecord(input.r));
        check(
          c.ok && [c.value.id, c.value.image, c.value.snapshotter, c.value.snapshotKey].every(isString) && allStrings(c.value.labels),
          'bad container record',
        );
        check(
          Buffer.isBuffer(c.value.spec) && isTime(c.value.createdAtNs) && Object.values(c.value.extensions).every((b) => Buffer.isBuffer(b)),
          'bad container record bytes',
        );
        return;
      }
      case 'task': {
        const t = outcome('taskRecord', none, () => taskRecord(input.r));
        check(t.ok && isCount(t.value.pid) && isString(t.value.status), 'bad task record');
        return;
      }
      case 'image': {
        const i = outcome('imageRecord', none, () => imageRecord(input.r));
        check(i.ok && [i.value.name, i.value.mediaType, i.value.digest].every(isString) && isTime(i.value.updatedAtNs), 'bad image record');
        return;
      }
      case 'info':
      case 'list': {
        const infos = outcome('infoRecord/listedInfos', none, () => (input.kind === 'info' ? [infoRecord(input.r)] : listedInfos(input.r)));
        check(infos.ok && infos.value.every((i) => isString(i.digest) && isCount(i.size) && allStrings(i.labels) && isTime(i.createdAtNs)), 'bad content info');
        return;
      }
      case 'chunk': {
        const r = outcome('readChunk', none, () => readChunk(input.r));
        check(r.ok && isCount(r.value.offset) && Buffer.isBuffer(r.value.data), 'bad chunk');
        return;
      }
      case 'snapshot': {
        const s = outcome('snapshotRecord', none, () => snapshotRecord(input.r));
        check(s.ok && isString(s.value.parent) && isTime(s.value.createdAtNs), 'bad snapshot');
        return;
      }
      case 'version': {
        const v = outcome('versionOf', none, () => versionOf(input.r));
        check(v.ok && isString(v.value), 'bad version');
        return;
      }
      case 'spec': {
        const env = outcome('specEnv', [attestor('RUNTIME_UNAVAILABLE')], () => specEnv(input.r, 'fuzz'));
        if (env.ok) check(Array.isArray(env.value) && env.value.every(isString), 'bad env');
        return;
      }
    }
  },
});

const ociTarget = target({
  name: 'containerd-oci',
  covers: 'src/runtime/containerd/oci.ts: indexEntries, manifestConfig, imageConfig, criImageRef (content-store documents, CRI metadata)',
  weight: 14,
  arbitrary: fc.oneof(
    documentBytes([S.OCI_INDEX]).map((bytes) => ({ kind: 'index' as const, bytes })),
    documentBytes([S.OCI_MANIFEST, S.DOCKER_MANIFEST]).map((bytes) => ({ kind: 'manifest' as const, bytes })),
    documentBytes([S.IMAGE_CONFIG]).map((bytes) => ({ kind: 'config' as const, bytes })),
    documentBytes([S.CRI_METADATA]).map((bytes) => ({ kind: 'cri' as const, bytes })),
  ),
  run: ({ kind, bytes }) => {
    const allowed = [attestor('IMAGE_NOT_FOUND')];
    const loose = (): Record<string, unknown> => JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    switch (kind) {
      case 'index': {
        const r = outcome('indexEntries', allowed, () => indexEntries(bytes, S.OTHER_DIGEST));
        if (r.ok)
          check(
            isDeepStrictEqual(
              r.value,
              (loose()['manifests'] as { digest: unknown }[]).map((m) => m.digest),
            ),
            'index entries differ from JSON.parse',
          );
        return;
      }
      case 'manifest': {
        const r = outcome('manifestConfig', allowed, () => manifestConfig(bytes, S.OTHER_DIGEST));
        if (r.ok) check(r.value === (loose()['config'] as { digest?: unknown }).digest, 'config digest differs from JSON.parse');
        return;
      }
      case 'config': {
        const r = outcome('imageConfig', allowed, () => imageConfig(bytes, S.OTHER_DIGEST));
        if (r.ok) {
          check(
            r.value.diffIds.length > 0 && r.value.diffIds.every(isDigest) && isString(r.value.platform.os) && isString(r.value.platform.architecture),
            'bad image config',
          );
          check(isDeepStrictEqual(r.value.diffIds, (loose()['rootfs'] as { diff_ids: unknown }).diff_ids), 'diff IDs differ from JSON.parse');
        }
        return;
      }
      case 'cri': {
        const r = outcome('criImageRef', allowed, () => criImageRef(bytes, 'fuzz'));
        if (r.ok) check(r.value === undefined || isDigest(r.value), 'bad image ref');
        return;
      }
    }
  },
});

// ---------------------------------------------------------------- Docker Engine API answers

interface DockerAnswer {
  readonly containerStatus: number;
  readonly container: Buffer;
  readonly imageStatus: number;
  readonly image: Buffer;
}
interface FakeDocker {
  readonly server: Server;
  readonly dir: string;
  readonly client: DockerApiClient;
  answer: DockerAnswer | undefined;
}
let dockerServer: FakeDocker | undefined;
async function startDocker(): Promise<FakeDocker> {
  if (dockerServer !== undefined) return dockerServer;
  const dir = mkdtempSync(join(tmpdir(), 'ssa-fuzz-docker-'));
  const socket = join(dir, 'docker.sock');
  const state: FakeDocker = {
    server: createServer((req, res) => {
      const a = state.answer;
      const image = (req.url ?? '').startsWith('/images/');
      res.writeHead(a === undefined ? 500 : image ? a.imageStatus : a.containerStatus, { 'content-type': 'application/json' });
      res.end(a === undefined ? '{}' : image ? a.image : a.container);
    }),
    dir,
    client: new DockerApiClient('docker', `unix://${socket}`),
    answer: undefined,
  };
  await new Promise<void>((resolve) => state.server.listen(socket, resolve));
  dockerServer = state;
  return state;
}
async function stopDocker(): Promise<void> {
  const s = dockerServer;
  dockerServer = undefined;
  if (s === undefined) return;
  s.server.closeAllConnections();
  await new Promise<void>((resolve) => s.server.close(() => resolve()));
  rmSync(s.dir, { recursive: true, force: true });
}
const status = fc.oneof({ weight: 8, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(404, 500, 204, 301) });

const dockerTarget = target({
  name: 'docker-api',
  covers: 'src/runtime/docker.ts DockerApiClient.inspect (container and image inspect JSON, through dockerode, from a fake engine on a unix socket)',
  weight: 2,
  cost: 3,
  async: true,
  arbitrary: fc.record({
    containerStatus: status,
    container: documentBytes([S.DOCKER_CONTAINER]),
    imageStatus: status,
    image: documentBytes([S.DOCKER_IMAGE]),
  }),
  setup: async () => {
    await startDocker();
  },
  teardown: stopDocker,
  run: async (answer) => {
    const s = await startDocker();
    s.answer = answer;
    const r = await outcomeAsync('DockerApiClient.inspect', [attestor('RUNTIME_UNAVAILABLE', 'IMAGE_NOT_FOUND', 'CANCELLED')], () =>
      s.client.inspect({ id: 'fuzz' }, AbortSignal.timeout(900)),
    );
    if (!r.ok || r.value === undefined) return;
    const { container: c, image: i } = r.value;
    check([c.id, c.imageId, c.imageRef].every(isString) && c.imageId.startsWith('sha256:'), `bad container facts ${JSON.stringify(c)}`);
    check(allStrings(c.labels) && c.env.every(isString) && typeof c.running === 'boolean', 'bad container labels/env');
    check(Number.isSafeInteger(c.initPid) && c.initPid >= 0, `bad init PID ${c.initPid}`);
    if (i !== undefined) {
      check(
        [i.id, i.os, i.architecture].every(isString) && i.repoDigests.every(isString) && i.repoTags.every(isString),
        `bad image facts ${JSON.stringify(i)}`,
      );
    }
  },
});

export const TARGETS: readonly AnyTarget[] = [
  cgroupTarget,
  referenceTarget,
  manifestTarget,
  challengeTarget,
  challengeRoundTripTarget,
  tokenTarget,
  helperTarget,
  dockerConfigTarget,
  pluginDataTarget,
  strictJsonTarget,
  bundleTarget,
  legacyTarget,
  legacyAttTarget,
  statementTarget,
  tlogBodyTarget,
  intotoV001Target,
  trustTarget,
  containerdWireTarget,
  ociTarget,
  dockerTarget,
];
