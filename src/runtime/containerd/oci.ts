// The three OCI documents the image proof reads from containerd's content
// store (index, manifest, image config), and the metadata Kubernetes' CRI
// keeps with a container. Parsed strictly (util/strict-json.ts): containerd
// reads them with Go's encoding/json, which matches keys case-insensitively
// and lets the last duplicate win, so a document with duplicate or
// case-variant keys, or a case variant of a key we read, could mean one
// thing to containerd and another to us. Anything malformed is an error
// naming the digest.

import { AttestorError } from '../../errors.js';
import { isDigest } from '../../util/digest.js';
import { isJsonObject, strictJson } from '../../util/strict-json.js';

import type { Digest } from '../../util/digest.js';
import type { JsonObject, JsonValue } from '../../util/strict-json.js';

const json = strictJson((message) => new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${message}`));

export const INDEX_MEDIA_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

// An index lists one manifest per platform (plus attestation manifests); a
// config one diff ID per layer. Real images stay far below these.
export const MAX_INDEX_ENTRIES = 256;
export const MAX_LAYERS = 1024;

export interface ImagePlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface ImageConfig {
  readonly diffIds: readonly Digest[];
  readonly platform: ImagePlatform;
}

function objectOf(bytes: Uint8Array, what: string): JsonObject {
  const value = json.parse(bytes, what);
  if (!isJsonObject(value)) throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: not a JSON object`);
  return value;
}

function objectField(obj: JsonObject, name: string, what: string): JsonObject {
  const value = json.field(obj, name, what);
  return isJsonObject(value) ? value : {};
}

function text(value: JsonValue | undefined): string {
  return typeof value === 'string' ? value : '';
}

function digestField(obj: JsonObject, name: string, what: string): Digest {
  const value = json.field(obj, name, what);
  if (typeof value !== 'string' || !isDigest(value)) throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: no valid "${name}"`);
  return value;
}

export function indexEntries(bytes: Uint8Array, digest: string): Digest[] {
  const what = `index ${digest}`;
  const manifests = json.field(objectOf(bytes, what), 'manifests', what);
  if (!Array.isArray(manifests) || manifests.length > MAX_INDEX_ENTRIES) {
    throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: no manifest list of at most ${MAX_INDEX_ENTRIES} entries`);
  }
  return manifests.map((entry: JsonValue) => digestField(isJsonObject(entry) ? entry : {}, 'digest', what));
}

export function manifestConfig(bytes: Uint8Array, digest: string): Digest {
  const what = `manifest ${digest}`;
  return digestField(objectField(objectOf(bytes, what), 'config', what), 'digest', what);
}

export function imageConfig(bytes: Uint8Array, digest: string): ImageConfig {
  const what = `image config ${digest}`;
  const doc = objectOf(bytes, what);
  const diffIds = json.field(objectField(doc, 'rootfs', what), 'diff_ids', what);
  if (!Array.isArray(diffIds) || diffIds.length === 0 || diffIds.length > MAX_LAYERS) {
    throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: no rootfs.diff_ids list of 1 to ${MAX_LAYERS} layers`);
  }
  const checked = diffIds.map((id: JsonValue) => {
    if (typeof id !== 'string' || !isDigest(id)) throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: a malformed diff ID`);
    return id;
  });
  const variant = text(json.field(doc, 'variant', what));
  return {
    diffIds: checked,
    platform: {
      os: text(json.field(doc, 'os', what)),
      architecture: text(json.field(doc, 'architecture', what)),
      ...(variant !== '' ? { variant } : {}),
    },
  };
}

// The image ID (config digest) Kubernetes' CRI resolved when it created the
// container: `Metadata.ImageRef` of its `io.cri-containerd.container.metadata`
// extension (versioned JSON, version v1). undefined when there is none.
export const CRI_METADATA_EXTENSION = 'io.cri-containerd.container.metadata';

export function criImageRef(bytes: Uint8Array, containerId: string): Digest | undefined {
  const what = `CRI metadata of container ${containerId}`;
  // containerd wrote it (Go's encoding/json), with the pod's labels and
  // annotations inside, which may differ only by case: read it as JSON and
  // refuse case variants only along the path read.
  let doc: JsonValue;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonValue;
  } catch (err) {
    throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: not JSON`, { cause: err });
  }
  if (!isJsonObject(doc) || text(json.field(doc, 'Version', what)) !== 'v1') {
    throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: not version v1`);
  }
  const ref = text(json.field(objectField(doc, 'Metadata', what), 'ImageRef', what));
  if (ref === '') return undefined;
  if (!isDigest(ref)) throw new AttestorError('IMAGE_NOT_FOUND', `cannot read containerd's ${what}: ImageRef "${ref}" is not an image ID`);
  return ref;
}
