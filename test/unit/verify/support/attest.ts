// In-toto attestations for the test Sigstore: Statements (v1 and v0.1) with
// SLSA provenance v1 / v0.2 or any predicate, and legacy cosign `.att`
// layers laid out exactly as `cosign attest` writes them (the layer blob is
// the DSSE envelope; certificate, chain and Rekor bundle are annotations;
// the Rekor entry is intoto 0.0.2, or dsse 0.0.1 as newer clients log it).
// Nothing here fakes crypto: envelopes are signed over the DSSE PAE and
// logged in the mock Rekor.

import { createHash } from 'node:crypto';

import { bytes, ecKeys, issueCert, logEntry, pem, rekorBundleAnnotation, signPayload, timestampAnnotation } from './rig.js';

import type { KeyObject } from 'node:crypto';
import type { Digest } from '../../../../src/registry/types.js';
import type { AttestationLayerCandidate } from '../../../../src/verify/types.js';
import type { KeyPair, MockSigstore, RekorEntry } from './rig.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
export const SLSA_V1 = 'https://slsa.dev/provenance/v1';
export const SLSA_V02 = 'https://slsa.dev/provenance/v0.2';
export const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';

// What the SLSA builders below write by default: acme/app's release
// workflow built at COMMIT on refs/heads/main.
export const BUILDER_ID = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
export const REPOSITORY = 'https://github.com/acme/app';
export const REF = 'refs/heads/main';
export const WORKFLOW_PATH = '.github/workflows/release.yml';
export const COMMIT = '8f3c1e2d4b5a69788f3c1e2d4b5a69788f3c1e2d';
export const SOURCE_URI = `git+${REPOSITORY}@${REF}`;
export const V02_BUILD_TYPE = 'https://github.com/slsa-framework/slsa-github-generator/generic@v1';

// An in-toto Statement about `subjects` (image digests `sha256:<hex>`).
export function statement(subjects: readonly Digest[], predicateType: string, predicate: unknown, options: { version?: 'v1' | 'v0.1' } = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: options.version === 'v0.1' ? STATEMENT_V01 : STATEMENT_V1,
      subject: subjects.map((d, i) => ({ name: `registry.test/acme/app-${i}`, digest: { sha256: d.replace(/^sha256:/, '') } })),
      predicateType,
      predicate,
    }),
  );
}

export interface SlsaV1Options {
  readonly builderId?: string;
  readonly buildType?: string;
  // externalParameters.workflow; null leaves it out.
  readonly workflow?: { repository?: unknown; ref?: unknown; path?: unknown } | null;
  // resolvedDependencies; the default is the repository at COMMIT.
  readonly resolvedDependencies?: readonly unknown[] | null;
}

// SLSA provenance v1 as GitHub's actions/attest-build-provenance writes it.
export function slsaV1Predicate(o: SlsaV1Options = {}): object {
  const workflow = o.workflow === undefined ? { repository: REPOSITORY, ref: REF, path: WORKFLOW_PATH } : o.workflow;
  const dependencies = o.resolvedDependencies === undefined ? [{ uri: SOURCE_URI, digest: { gitCommit: COMMIT } }] : o.resolvedDependencies;
  return {
    buildDefinition: {
      buildType: o.buildType ?? GITHUB_WORKFLOW_BUILD_TYPE,
      externalParameters: workflow === null ? {} : { workflow },
      internalParameters: { github: { event_name: 'push', repository_id: '123', repository_owner_id: '456' } },
      ...(dependencies === null ? {} : { resolvedDependencies: dependencies }),
    },
    runDetails: {
      builder: { id: o.builderId ?? BUILDER_ID },
      metadata: { invocationId: `${REPOSITORY}/actions/runs/1/attempts/1` },
    },
  };
}

export interface SlsaV02Options {
  readonly builderId?: string;
  readonly buildType?: string;
  readonly uri?: string;
  readonly sha1?: string;
  readonly entryPoint?: string;
}

// SLSA provenance v0.2 as slsa-github-generator writes it.
export function slsaV02Predicate(o: SlsaV02Options = {}): object {
  return {
    builder: { id: o.builderId ?? BUILDER_ID },
    buildType: o.buildType ?? V02_BUILD_TYPE,
    invocation: {
      configSource: { uri: o.uri ?? SOURCE_URI, digest: { sha1: o.sha1 ?? COMMIT }, entryPoint: o.entryPoint ?? WORKFLOW_PATH },
      parameters: {},
    },
    metadata: { buildInvocationID: '1-1', completeness: { parameters: true, environment: false, materials: false }, reproducible: false },
    materials: [{ uri: o.uri ?? SOURCE_URI, digest: { sha1: o.sha1 ?? COMMIT } }],
  };
}

// DSSE pre-authentication encoding.
export function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

export interface AttLayerOptions {
  // Key-based (`cosign attest --key`); keyless with a mock Fulcio certificate otherwise.
  readonly key?: KeyPair;
  // The keyless certificate's SAN (default: rig's SUBJECT).
  readonly san?: string;
  // The Rekor entry kind, or false for none (`--tlog-upload=false`).
  readonly tlog?: 'intoto' | 'dsse' | false;
  // What the entry records as the signer (PEM), instead of the real one.
  readonly recordedSignerPem?: string;
  readonly payloadType?: string;
  // An RFC 3161 timestamp annotation over the layer blob (the DSSE
  // envelope JSON), as `cosign attest --timestamp-server-url` requests it
  // and cosign verifies it; or, not as cosign does, over the raw signature.
  readonly timestamp?: 'envelope' | 'signature';
}

export interface AttLayer {
  readonly candidate: AttestationLayerCandidate;
  readonly envelope: DsseEnvelope;
  readonly keys: KeyPair;
  readonly cert: Buffer | undefined;
  readonly signature: Buffer;
  readonly entry: RekorEntry | undefined;
}

// One layer of `sha256-<hex>.att` as cosign writes it for `statementBytes`.
export async function attLayer(sigstore: MockSigstore, imageDigest: Digest, statementBytes: Buffer, options: AttLayerOptions = {}): Promise<AttLayer> {
  const keys = options.key ?? ecKeys();
  const cert = options.key ? undefined : await issueCert(sigstore.ca, keys, options.san === undefined ? {} : { san: options.san });
  const signerPem = cert ? pem(cert) : publicKeyPem(keys.publicKey);
  const payloadType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  const signature = signPayload(pae(payloadType, statementBytes), keys.privateKey);
  // cosign's dsse envelope field order: payloadType, payload, signatures.
  const envelope: DsseEnvelope = { payloadType, payload: statementBytes.toString('base64'), signatures: [{ keyid: '', sig: signature.toString('base64') }] };
  const blob = Buffer.from(JSON.stringify(envelope));
  const kind = options.tlog ?? 'intoto';
  const recorded = options.recordedSignerPem ?? signerPem;
  const entry =
    kind === false ? undefined : await logEntry(sigstore.tlog, kind === 'intoto' ? intotoBody(envelope, blob, recorded) : dsseBody(envelope, blob, recorded));
  const annotations: Record<string, string> = {
    // cosign's static.NewAttestation writes an empty signature annotation.
    'dev.cosignproject.cosign/signature': '',
    ...(cert ? { 'dev.sigstore.cosign/certificate': pem(cert), 'dev.sigstore.cosign/chain': pem(bytes(sigstore.ca.rootCertificate)) } : {}),
    ...(entry ? { 'dev.sigstore.cosign/bundle': rekorBundleAnnotation(entry) } : {}),
    ...(options.timestamp
      ? { 'dev.sigstore.cosign/rfc3161timestamp': await timestampAnnotation(sigstore.tsa, options.timestamp === 'envelope' ? blob : signature) }
      : {}),
  };
  return { candidate: attCandidate(imageDigest, blob, annotations), envelope, keys, cert, signature, entry };
}

// An `.att` layer candidate for a layer blob (its digest is the blob's).
export function attCandidate(imageDigest: Digest, blob: Buffer, annotations: Readonly<Record<string, string>>): AttestationLayerCandidate {
  return { format: 'att', imageDigest, envelope: blob, layerDigest: `sha256:${sha256Hex(blob)}`, annotations };
}

// The candidate with its envelope JSON changed by `edit` (annotations kept).
export function editedEnvelope(candidate: AttestationLayerCandidate, edit: (envelope: DsseEnvelope) => void): AttestationLayerCandidate {
  const envelope = JSON.parse(candidate.envelope.toString('utf8')) as DsseEnvelope;
  edit(envelope);
  return attCandidate(candidate.imageDigest, Buffer.from(JSON.stringify(envelope)), candidate.annotations);
}

// Rekor intoto 0.0.2, canonicalized as Rekor stores it: the envelope
// without its payload, each signature double-base64 with the signer's PEM
// (base64), the hashes of the envelope and of the payload.
export function intotoBody(envelope: DsseEnvelope, blob: Buffer, signerPem: string): object {
  return {
    apiVersion: '0.0.2',
    kind: 'intoto',
    spec: {
      content: {
        envelope: {
          payloadType: envelope.payloadType,
          signatures: envelope.signatures.map((s) => ({
            publicKey: Buffer.from(signerPem).toString('base64'),
            sig: Buffer.from(s.sig).toString('base64'),
          })),
        },
        hash: { algorithm: 'sha256', value: sha256Hex(blob) },
        payloadHash: { algorithm: 'sha256', value: sha256Hex(Buffer.from(envelope.payload, 'base64')) },
      },
    },
  };
}

// Rekor dsse 0.0.1.
export function dsseBody(envelope: DsseEnvelope, blob: Buffer, signerPem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256Hex(blob) },
      payloadHash: { algorithm: 'sha256', value: sha256Hex(Buffer.from(envelope.payload, 'base64')) },
      signatures: envelope.signatures.map((s) => ({ signature: s.sig, verifier: Buffer.from(signerPem).toString('base64') })),
    },
  };
}

export function publicKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'spki' }).toString();
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
