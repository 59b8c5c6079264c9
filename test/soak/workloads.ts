// The soak's workloads: per generation one image of each kind, pushed
// through the fault proxy (whose host names them) with faults only on the
// plugin's requests, running in containers of the soak's dockerd; and one
// Workload API fetch from inside a container, classified.
//
//  signed       signed by the trusted key (legacy and bundle formats in turn)
//  unsigned     pushed, no signature
//  wrongSigner  signed by another key (formats in turn)
//  tampered     in turn: another image's signature copied to its .sig tag,
//               the tag re-pushed with other content after signing, or its
//               signature bytes corrupted in the .sig manifest

import { generateKeyPair, signWithKey, type KeyPair } from '../support/cosign.js';
import { docker, type Rig } from '../support/rig.js';
import { buildWorkloadImage, pushImage } from '../support/workload-image.js';

export const KINDS = ['signed', 'unsigned', 'wrongSigner', 'tampered'] as const;
export type Kind = (typeof KINDS)[number];

export const TAMPER_VARIANTS = ['copied-signature', 're-pushed-after-signing', 'corrupted-signature'] as const;

export interface Keys {
  readonly trusted: KeyPair;
  readonly wrong: KeyPair;
}

export async function makeKeys(rig: Rig, dir: string): Promise<Keys> {
  return { trusted: await generateKeyPair(rig, dir, 'release'), wrong: await generateKeyPair(rig, dir, 'rogue') };
}

export interface Image {
  readonly kind: Kind;
  readonly gen: number;
  readonly tag: string;
  readonly digest: string;
  readonly variant?: string;
}

const MANIFEST_ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

// The legacy .sig manifest of `digest` in `repo`, read from the registry itself.
async function sigManifest(registry: string, repo: string, digest: string): Promise<{ bytes: Buffer; mediaType: string }> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${digest.replace(':', '-')}.sig`, {
    headers: { accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(20_000),
  });
  if (res.status !== 200) throw new Error(`.sig manifest of ${repo}@${digest}: HTTP ${res.status}`);
  return { bytes: Buffer.from(await res.arrayBuffer()), mediaType: res.headers.get('content-type') ?? 'application/vnd.oci.image.manifest.v1+json' };
}

async function putSigManifest(registry: string, repo: string, digest: string, bytes: Buffer, mediaType: string): Promise<void> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${digest.replace(':', '-')}.sig`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: bytes,
    signal: AbortSignal.timeout(20_000),
  });
  await res.body?.cancel();
  if (res.status !== 201) throw new Error(`put .sig manifest of ${repo}@${digest}: HTTP ${res.status}`);
}

// The signature's base64 with one character in its middle changed.
function corruptSignature(manifest: Buffer): Buffer {
  const doc = JSON.parse(manifest.toString('utf8')) as { layers: { annotations?: Record<string, string> }[] };
  for (const layer of doc.layers) {
    const sig = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (sig === undefined || layer.annotations === undefined) continue;
    const i = Math.floor(sig.length / 2);
    layer.annotations[SIGNATURE_ANNOTATION] = `${sig.slice(0, i)}${sig[i] === 'A' ? 'B' : 'A'}${sig.slice(i + 1)}`;
  }
  return Buffer.from(JSON.stringify(doc));
}

export interface ImageFactory {
  // `proxy`: the host the images are named by; `registry`: the rig registry
  // behind it (tampering writes straight to it).
  readonly rig: Rig;
  readonly proxy: string;
  readonly registry: string;
  readonly run: string;
  readonly keys: Keys;
}

export async function makeImage(f: ImageFactory, kind: Kind, gen: number): Promise<Image> {
  const repo = `soak-${f.run}/${kind.toLowerCase()}`;
  const tag = `${f.proxy}/${repo}:g${gen}`;
  const at = (digest: string): string => `${f.proxy}/${repo}@${digest}`;
  const format = gen % 2 === 0 ? 'legacy' : 'bundle';
  const build = async (t: string, marker: string): Promise<string> => {
    await buildWorkloadImage(f.rig, t, marker);
    return pushImage(f.rig, t);
  };
  const marker = `${kind}-${f.run}-${gen}`;
  switch (kind) {
    case 'signed': {
      const digest = await build(tag, marker);
      await signWithKey(f.rig, at(digest), f.keys.trusted, format);
      return { kind, gen, tag, digest, variant: format };
    }
    case 'unsigned':
      return { kind, gen, tag, digest: await build(tag, marker) };
    case 'wrongSigner': {
      const digest = await build(tag, marker);
      await signWithKey(f.rig, at(digest), f.keys.wrong, format);
      return { kind, gen, tag, digest, variant: format };
    }
    case 'tampered': {
      const variant = TAMPER_VARIANTS[gen % TAMPER_VARIANTS.length] ?? 'copied-signature';
      if (variant === 'copied-signature') {
        const donorTag = `${f.proxy}/${repo}:donor-g${gen}`;
        const donor = await build(donorTag, `${marker}-donor`);
        await signWithKey(f.rig, at(donor), f.keys.trusted, 'legacy');
        const digest = await build(tag, marker);
        const sig = await sigManifest(f.registry, repo, donor);
        await putSigManifest(f.registry, repo, digest, sig.bytes, sig.mediaType);
        await docker(f.rig, ['rmi', donorTag]);
        return { kind, gen, tag, digest, variant };
      }
      if (variant === 're-pushed-after-signing') {
        const signed = await build(tag, `${marker}-signed`);
        await signWithKey(f.rig, at(signed), f.keys.trusted, format);
        return { kind, gen, tag, digest: await build(tag, `${marker}-re-pushed`), variant };
      }
      const digest = await build(tag, marker);
      await signWithKey(f.rig, at(digest), f.keys.trusted, 'legacy');
      const sig = await sigManifest(f.registry, repo, digest);
      await putSigManifest(f.registry, repo, digest, corruptSignature(sig.bytes), sig.mediaType);
      return { kind, gen, tag, digest, variant };
    }
  }
}

export type Outcome = 'issued' | 'denied' | 'error' | 'notRun';

export interface FetchResult {
  readonly outcome: Outcome;
  readonly spiffeId?: string;
  // One line saying what went wrong (errors and notRun).
  readonly detail?: string;
  readonly ms: number;
}

const CLIENT = ['/bin/spire-agent', 'api', 'fetch', 'x509', '-socketPath', '/run/spire/agent.sock', '-timeout', '8s'];

// What a client printed, and docker's own failures (the client never ran).
export function classify(code: number, output: string): Omit<FetchResult, 'ms'> {
  const id = /SPIFFE ID:\s+(spiffe:\/\/\S+)/.exec(output)?.[1];
  if (code === 0 && id !== undefined) return { outcome: 'issued', spiffeId: id };
  if (id !== undefined) return { outcome: 'issued', spiffeId: id, detail: `exit ${code} with an SVID` };
  if (/PermissionDenied desc = no identity issued/.test(output)) return { outcome: 'denied' };
  const line = output.split('\n').find((l) => l.trim() !== '') ?? `exit ${code}, no output`;
  // SIGKILLed with the container (dockerd stopping) before it said anything.
  if (code === 137 && output.trim() === '') return { outcome: 'notRun', detail: line };
  if (/Error response from daemon|Cannot connect to the Docker daemon|No such container|is not running|Unable to find image|OCI runtime/i.test(output)) {
    return { outcome: 'notRun', detail: line.slice(0, 200) };
  }
  return { outcome: 'error', detail: line.replace(/pid=\d+/g, 'pid=N').slice(0, 200) };
}

// One Workload API fetch from inside a running container (docker exec), or
// from a container created for it and removed after (`image`).
export async function fetchIn(rig: Rig, target: { container: string } | { image: string; agentDir: string }): Promise<FetchResult> {
  const started = Date.now();
  const args =
    'container' in target
      ? ['exec', target.container, ...CLIENT]
      : ['run', '--rm', '--network', 'none', '-v', `${target.agentDir}:/run/spire`, target.image, ...CLIENT];
  const r = await docker(rig, args, { timeoutMs: 45_000 }).catch((err: unknown) => ({ code: -1, stdout: '', stderr: `docker: ${String(err)}` }));
  return { ...classify(r.code, r.stdout + r.stderr), ms: Date.now() - started };
}
