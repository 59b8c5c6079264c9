import { describe, expect, it } from 'vitest';

import { criImageRef, imageConfig, manifestConfig } from '../../../src/runtime/containerd/oci.js';

const ID = `sha256:${'a'.repeat(64)}`;
const bytes = (doc: unknown): Buffer => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));

describe("criImageRef: the image ID in CRI's container metadata", () => {
  it('reads Metadata.ImageRef of version v1; the pod labels inside may differ only by case', () => {
    const doc = { Version: 'v1', Metadata: { ID: 'c1', ImageRef: ID, Config: { labels: { app: '1', App: '2' } } } };
    expect(criImageRef(bytes(doc), 'c1')).toBe(ID);
    expect(criImageRef(bytes({ Version: 'v1', Metadata: { ID: 'c1' } }), 'c1')).toBeUndefined();
  });

  it.each([
    ['another version', { Version: 'v2', Metadata: { ImageRef: ID } }, /not version v1/],
    ['a case variant of ImageRef (Go would read it)', { Version: 'v1', Metadata: { ImageRef: ID, imageref: `sha256:${'b'.repeat(64)}` } }, /case variant/],
    ['an ImageRef that is no image ID', { Version: 'v1', Metadata: { ImageRef: 'reg/app:1' } }, /not an image ID/],
    ['not JSON', '{', /not JSON/],
  ])('refuses %s', (_name, doc, message) => {
    expect(() => criImageRef(bytes(doc), 'c1')).toThrow(message);
  });
});

describe('image documents are read strictly', () => {
  it('a manifest without a valid config digest names the field', () => {
    expect(() => manifestConfig(bytes({ config: { digest: 'x' } }), ID)).toThrow(/no valid "digest"/);
  });

  it('a config with a case variant of a key read, or a duplicate key, is refused', () => {
    expect(() => imageConfig(bytes({ rootfs: { diff_ids: [ID] }, OS: 'linux', os: 'linux' }), ID)).toThrow(/duplicate or case-variant key/);
    expect(() => imageConfig(bytes({ RootFS: { diff_ids: [ID] } }), ID)).toThrow(/case variant of "rootfs"/);
  });
});
