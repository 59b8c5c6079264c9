// Valid documents the structured generators start from: the repository's
// real Sigstore fixtures and example configurations, the embedded
// public-good trusted root, and small synthetic documents of each format.

import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { KeyObject } from 'node:crypto';

// The repository root: the nearest directory up from the working directory
// with this package's package.json (npm scripts and vitest run from there).
function repoRoot(): string {
  let dir = process.cwd();
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'spire-sigstore-attestor') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('fuzz: run from inside the spire-sigstore-attestor repository');
    dir = up;
  }
}

export const ROOT = repoRoot();

function readJson(relative: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, relative), 'utf8')) as Record<string, unknown>;
}

export const sha256Hex = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export const IMAGE_DIGEST = `sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172` as const;
export const OTHER_DIGEST = `sha256:${'1'.repeat(64)}` as const;

export const BUNDLE_V03 = readJson('test/fixtures/sigstore/bundle_v03.json');
export const OCI_ATTESTATION_BUNDLE = readJson('test/fixtures/sigstore/oci-attestation.sigstore.json');

interface BundleShape {
  verificationMaterial: { certificate: { rawBytes: string }; tlogEntries: { canonicalizedBody: string }[] };
  dsseEnvelope: { payload: string };
}
const bundleShape = BUNDLE_V03 as unknown as BundleShape;

// The fixture's leaf certificate as PEM (a real Fulcio certificate).
const leafB64 = bundleShape.verificationMaterial.certificate.rawBytes;
export const LEAF_PEM = `-----BEGIN CERTIFICATE-----\n${(leafB64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;

// The fixture's DSSE payload (an in-toto Statement v1, cosign sign predicate)
// and its Rekor dsse/0.0.1 entry body.
export const COSIGN_STATEMENT = JSON.parse(Buffer.from(bundleShape.dsseEnvelope.payload, 'base64').toString('utf8')) as Record<string, unknown>;
export const DSSE_V001_BODY = JSON.parse(
  Buffer.from(bundleShape.verificationMaterial.tlogEntries[0]?.canonicalizedBody ?? '', 'base64').toString('utf8'),
) as Record<string, unknown>;

export const KEYS: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
export const PUBLIC_KEY_PEM = KEYS.publicKey.export({ format: 'pem', type: 'spki' }).toString();
export const PUBLIC_KEY_DER = KEYS.publicKey.export({ format: 'der', type: 'spki' });
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

export const SIMPLE_SIGNING = {
  critical: {
    identity: { 'docker-reference': 'registry.test/acme/app' },
    image: { 'docker-manifest-digest': IMAGE_DIGEST },
    type: 'cosign container image signature',
  },
  optional: { creator: 'fuzz' },
};

const subject = [{ name: 'registry.test/acme/app', digest: { sha256: IMAGE_DIGEST.slice(7) } }];
export const SLSA_V1_STATEMENT = {
  _type: 'https://in-toto.io/Statement/v1',
  subject,
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: {
    buildDefinition: {
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      externalParameters: { workflow: { repository: 'https://github.com/acme/app', ref: 'refs/heads/main', path: '.github/workflows/release.yml' } },
      resolvedDependencies: [{ uri: 'git+https://github.com/acme/app@refs/heads/main', digest: { gitCommit: '8f3c1e2d4b5a69788f3c1e2d4b5a69788f3c1e2d' } }],
    },
    runDetails: { builder: { id: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main' } },
  },
};
export const SLSA_V02_STATEMENT = {
  _type: 'https://in-toto.io/Statement/v0.1',
  subject,
  predicateType: 'https://slsa.dev/provenance/v0.2',
  predicate: {
    builder: { id: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.9.0' },
    buildType: 'https://github.com/slsa-framework/slsa-github-generator/generic@v1',
    invocation: { configSource: { uri: 'git+https://github.com/acme/app@refs/heads/main', digest: { sha1: '8f3c1e2d4b5a69788f3c1e2d4b5a69788f3c1e2d' } } },
  },
};

export const HASHEDREKORD_V001_BODY = {
  apiVersion: '0.0.1',
  kind: 'hashedrekord',
  spec: {
    data: { hash: { algorithm: 'sha256', value: sha256Hex(JSON.stringify(SIMPLE_SIGNING)) } },
    signature: { content: b64('sig'), publicKey: { content: b64(LEAF_PEM) } },
  },
};
export const INTOTO_V002_BODY = {
  apiVersion: '0.0.2',
  kind: 'intoto',
  spec: {
    content: {
      envelope: { payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: b64(b64('sig')), publicKey: b64(PUBLIC_KEY_PEM) }] },
      hash: { algorithm: 'sha256', value: '0'.repeat(64) },
      payloadHash: { algorithm: 'sha256', value: '0'.repeat(64) },
    },
  },
};
export const HASHEDREKORD_V002_BODY = {
  apiVersion: '0.0.2',
  kind: 'hashedrekord',
  spec: {
    hashedRekordV002: {
      data: { algorithm: 'SHA2_256', digest: b64('d') },
      signature: { content: b64('s'), verifier: { publicKey: { rawBytes: b64(PUBLIC_KEY_DER) }, keyDetails: 'PKIX_ECDSA_P256_SHA_256' } },
    },
  },
};
export const DSSE_V002_BODY = {
  apiVersion: '0.0.2',
  kind: 'dsse',
  spec: {
    dsseV002: {
      payloadHash: { algorithm: 'SHA2_256', digest: b64('d') },
      signatures: [{ content: b64('s'), verifier: { x509Certificate: { rawBytes: leafB64 } } }],
    },
  },
};

// A legacy `.att` layer: a DSSE envelope around the SLSA v1 statement.
export const STATEMENT_BYTES = Buffer.from(JSON.stringify(SLSA_V1_STATEMENT));
export const ENVELOPE = {
  payloadType: 'application/vnd.in-toto+json',
  payload: STATEMENT_BYTES.toString('base64'),
  signatures: [{ keyid: '', sig: b64('signature-bytes') }],
};
export const ENVELOPE_BYTES = Buffer.from(JSON.stringify(ENVELOPE));

export const INTOTO_V001_BODY = {
  apiVersion: '0.0.1',
  kind: 'intoto',
  spec: {
    content: { hash: { algorithm: 'sha256', value: sha256Hex(ENVELOPE_BYTES) }, payloadHash: { algorithm: 'sha256', value: sha256Hex(STATEMENT_BYTES) } },
    publicKey: b64(PUBLIC_KEY_PEM),
  },
};

export const LOG_ID = createHash('sha256').update(PUBLIC_KEY_DER).digest();

// cosign's RekorBundle annotation (dev.sigstore.cosign/bundle), without its SET check.
export function rekorBundle(body: unknown): Record<string, unknown> {
  return {
    SignedEntryTimestamp: b64('set-signature'),
    Payload: { body: b64(JSON.stringify(body)), integratedTime: 1775719409, logIndex: 1261105807, logID: LOG_ID.toString('hex') },
  };
}
export const RFC3161_ANNOTATION = { SignedRFC3161Timestamp: b64('timestamp-response') };

const descriptor = (mediaType: string, digest: string, size: number): Record<string, unknown> => ({ mediaType, digest, size });
export const OCI_MANIFEST = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: descriptor('application/vnd.oci.image.config.v1+json', `sha256:${'a'.repeat(64)}`, 1469),
  layers: [
    {
      ...descriptor('application/vnd.oci.image.layer.v1.tar+gzip', `sha256:${'b'.repeat(64)}`, 3370706),
      annotations: { 'dev.cosignproject.cosign/signature': b64('sig'), 'dev.sigstore.cosign/certificate': LEAF_PEM },
    },
  ],
  subject: descriptor('application/vnd.oci.image.index.v1+json', IMAGE_DIGEST, 1024),
  annotations: { 'org.opencontainers.image.created': '2026-04-09T07:23:29Z' },
};
export const DOCKER_MANIFEST = {
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: descriptor('application/vnd.docker.container.image.v1+json', `sha256:${'c'.repeat(64)}`, 7023),
  layers: [descriptor('application/vnd.docker.image.rootfs.diff.tar.gzip', `sha256:${'d'.repeat(64)}`, 32654)],
};
export const OCI_INDEX = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.index.v1+json',
  manifests: [
    { ...descriptor('application/vnd.oci.image.manifest.v1+json', `sha256:${'e'.repeat(64)}`, 1000), platform: { architecture: 'amd64', os: 'linux' } },
    {
      ...descriptor('application/vnd.oci.image.manifest.v1+json', `sha256:${'f'.repeat(64)}`, 1000),
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    },
    {
      ...descriptor('application/vnd.oci.image.manifest.v1+json', `sha512:${'0'.repeat(128)}`, 1000),
      platform: { architecture: 'arm', os: 'linux', variant: 'v7' },
    },
    {
      ...descriptor('application/vnd.oci.image.manifest.v1+json', `sha256:${'9'.repeat(64)}`, 840),
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
      platform: { architecture: 'unknown', os: 'unknown' },
    },
  ],
};
export const IMAGE_CONFIG = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`] },
  config: { Env: ['PATH=/usr/bin'] },
};
export const CRI_METADATA = {
  Version: 'v1',
  Metadata: { ID: 'abc', Name: 'app', ImageRef: `sha256:${'3'.repeat(64)}`, Config: { metadata: { name: 'app' }, labels: { App: 'x', app: 'y' } } },
};
export const OCI_SPEC = { ociVersion: '1.2.0', process: { env: ['PATH=/usr/bin', 'HOME=/root'], args: ['/app'] }, root: { path: 'rootfs' } };

export const DOCKER_CONTAINER = {
  Id: 'a'.repeat(64),
  Image: `sha256:${'4'.repeat(64)}`,
  Config: { Image: 'registry.test/acme/app:1.0', Labels: { team: 'payments' }, Env: ['A=1', 'B=2'] },
  State: { Running: true, Pid: 4242, Status: 'running' },
  Name: '/app',
};
export const DOCKER_IMAGE = {
  Id: `sha256:${'4'.repeat(64)}`,
  RepoDigests: [`registry.test/acme/app@sha256:${'5'.repeat(64)}`],
  RepoTags: ['registry.test/acme/app:1.0'],
  Os: 'linux',
  Architecture: 'arm64',
  Variant: 'v8',
};

export const DOCKER_CONFIG = {
  auths: {
    'https://index.docker.io/v1/': { auth: b64('user:pass') },
    'ghcr.io': { identitytoken: 'refresh-token' },
    'registry.test:5000': { username: 'u', password: 'p' },
    'quay.io': { registrytoken: 'rt' },
  },
  credHelpers: { 'gcr.io': 'gcloud' },
  credsStore: 'desktop',
};
export const HELPER_OUTPUT = { ServerURL: 'https://index.docker.io/v1/', Username: 'user', Secret: 'secret' };

// The example plugin_data configurations (HCL v1), and the plugin_data
// blocks of the example agent configurations.
export const PLUGIN_DATA_EXAMPLES: string[] = readdirSync(join(ROOT, 'conf/examples'))
  .filter((f) => f.endsWith('.hcl'))
  .map((f) => readFileSync(join(ROOT, 'conf/examples', f), 'utf8'));

// The public-good trusted root shipped in @sigstore/tuf's seeds.json.
export const TRUSTED_ROOT: Record<string, unknown> = (() => {
  const seedsPath = createRequire(join(ROOT, 'package.json')).resolve('@sigstore/tuf/seeds.json');
  const seeds = JSON.parse(readFileSync(seedsPath, 'utf8')) as Record<string, { targets: Record<string, string> }>;
  const first = Object.values(seeds)[0];
  return JSON.parse(Buffer.from(first?.targets['trusted_root.json'] ?? '', 'base64').toString('utf8')) as Record<string, unknown>;
})();
