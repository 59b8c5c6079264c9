import { describe, expect, it } from 'vitest';

import { nodePlatform, parseManifest, selectPlatform } from '../../../src/registry/manifest.js';
import { MEDIA_TYPE } from '../../../src/registry/types.js';

import type { ImageIndex, Platform } from '../../../src/registry/types.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

function bytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 100 };
const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2, size: 2000 };

function ociManifest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE.ociManifest, config, layers: [layer], ...extra };
}

function expectBad(fn: () => unknown, why: RegExp): void {
  expect(fn).toThrow(expect.objectContaining({ code: 'REGISTRY_RESPONSE', message: expect.stringMatching(why) }));
}

describe('parseManifest', () => {
  it('parses an OCI image manifest with subject, artifactType and annotations', () => {
    const m = parseManifest(bytes(ociManifest({ subject: { ...layer, digest: D1 }, artifactType: 'application/x', annotations: { a: 'b' } })), undefined);
    expect(m).toEqual({
      kind: 'manifest',
      mediaType: MEDIA_TYPE.ociManifest,
      config,
      layers: [layer],
      subject: { ...layer, digest: D1 },
      artifactType: 'application/x',
      annotations: { a: 'b' },
    });
  });

  it('parses Docker schema 2 manifests and lists', () => {
    const docker = parseManifest(bytes({ ...ociManifest(), mediaType: MEDIA_TYPE.dockerManifest }), MEDIA_TYPE.dockerManifest);
    expect(docker.kind).toBe('manifest');
    const list = parseManifest(
      bytes({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.dockerManifestList,
        manifests: [{ mediaType: MEDIA_TYPE.dockerManifest, digest: D1, size: 5, platform: { architecture: 'amd64', os: 'linux' } }],
      }),
      null,
    );
    expect(list).toEqual({
      kind: 'index',
      mediaType: MEDIA_TYPE.dockerManifestList,
      manifests: [{ mediaType: MEDIA_TYPE.dockerManifest, digest: D1, size: 5, platform: { architecture: 'amd64', os: 'linux' } }],
    });
  });

  it('takes the media type from the Content-Type when the body has none', () => {
    const body = { schemaVersion: 2, manifests: [] };
    expect(parseManifest(bytes(body), `${MEDIA_TYPE.ociIndex}; charset=utf-8`)).toMatchObject({ kind: 'index', mediaType: MEDIA_TYPE.ociIndex });
    expectBad(() => parseManifest(bytes(body), undefined), /no mediaType/);
    expectBad(() => parseManifest(bytes(body), 'application/json'), /unsupported media type application\/json/);
  });

  it('rejects a body media type that contradicts a manifest Content-Type', () => {
    expectBad(() => parseManifest(bytes(ociManifest()), MEDIA_TYPE.dockerManifest), /contradicts/);
    // A generic Content-Type is no contradiction.
    expect(parseManifest(bytes(ociManifest()), 'application/json').kind).toBe('manifest');
  });

  const badCases: [string, unknown, RegExp][] = [
    ['not JSON', 'x', /not valid JSON/],
    ['an array', [], /not a JSON object/],
    ['schemaVersion 1', { ...ociManifest(), schemaVersion: 1 }, /schemaVersion 1/],
    ['schemaVersion "2"', { ...ociManifest(), schemaVersion: '2' }, /schemaVersion "2"/],
    ['schema1 media type', { ...ociManifest(), mediaType: 'application/vnd.docker.distribution.manifest.v1+json' }, /unsupported media type/],
    ['missing config', { ...ociManifest(), config: undefined }, /config: descriptor is not an object/],
    ['layers not an array', { ...ociManifest(), layers: {} }, /"layers" is not an array/],
    ['bad digest', ociManifest({ layers: [{ ...layer, digest: 'sha256:abc' }] }), /layers\[0\]: descriptor digest/],
    ['uppercase digest', ociManifest({ layers: [{ ...layer, digest: `sha256:${'A'.repeat(64)}` }] }), /descriptor digest/],
    ['negative size', ociManifest({ layers: [{ ...layer, size: -1 }] }), /size -1/],
    ['fractional size', ociManifest({ layers: [{ ...layer, size: 1.5 }] }), /size 1.5/],
    ['unsafe size', ociManifest({ layers: [{ ...layer, size: 2 ** 60 }] }), /size/],
    ['string size', ociManifest({ layers: [{ ...layer, size: '5' }] }), /size "5"/],
    ['no descriptor mediaType', ociManifest({ layers: [{ digest: D1, size: 1 }] }), /without a mediaType/],
    ['annotation not a string', ociManifest({ annotations: { a: 1 } }), /annotation "a"/],
    ['bad platform', { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests: [{ ...layer, platform: { os: 'linux' } }] }, /platform/],
    ['index without manifests', { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex }, /"manifests" is not an array/],
    ['bad subject', ociManifest({ subject: { mediaType: 'x', digest: 'nope', size: 1 } }), /subject/],
  ];
  it.each(badCases)('rejects %s', (_name, body, why) => {
    const raw = typeof body === 'string' ? Buffer.from(body) : bytes(body);
    expectBad(() => parseManifest(raw, undefined), why);
  });
});

function index(platforms: (Platform | undefined)[], mediaType: string = MEDIA_TYPE.ociManifest): ImageIndex {
  return {
    kind: 'index',
    mediaType: MEDIA_TYPE.ociIndex,
    manifests: platforms.map((platform, i) => ({
      mediaType,
      digest: `sha256:${String(i).repeat(64)}`,
      size: 10,
      ...(platform !== undefined ? { platform } : {}),
    })),
  };
}

describe('nodePlatform', () => {
  it.each([
    ['x64', 'linux', undefined, { os: 'linux', architecture: 'amd64' }],
    ['arm64', 'linux', undefined, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    ['arm', 'linux', '7', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['arm', 'linux', '6', { os: 'linux', architecture: 'arm', variant: 'v6' }],
    ['ia32', 'linux', undefined, { os: 'linux', architecture: '386' }],
    ['s390x', 'linux', undefined, { os: 'linux', architecture: 's390x' }],
    ['x64', 'win32', undefined, { os: 'windows', architecture: 'amd64' }],
  ])('%s/%s', (arch, platform, armVersion, want) => {
    expect(nodePlatform(arch, platform, armVersion)).toEqual(want);
  });
  it('describes this process', () => {
    expect(nodePlatform().os).toBe(process.platform === 'win32' ? 'windows' : process.platform);
  });
});

describe('selectPlatform', () => {
  const amd64 = { os: 'linux', architecture: 'amd64' };
  const arm64 = { os: 'linux', architecture: 'arm64' };
  const arm64v8 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
  const armv6 = { os: 'linux', architecture: 'arm', variant: 'v6' };
  const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
  const unknown = { os: 'unknown', architecture: 'unknown' };

  it('picks amd64 for x64', () => {
    const idx = index([arm64, amd64, unknown]);
    expect(selectPlatform(idx, nodePlatform('x64', 'linux'))?.digest).toBe(idx.manifests[1]?.digest);
  });
  it('arm64: the v8 variant is optional on either side', () => {
    const idx = index([amd64, arm64]);
    expect(selectPlatform(idx, nodePlatform('arm64', 'linux'))?.digest).toBe(idx.manifests[1]?.digest);
    const idx2 = index([amd64, arm64v8]);
    expect(selectPlatform(idx2, arm64)?.digest).toBe(idx2.manifests[1]?.digest);
  });
  it('arm: exact variant preferred, older variants accepted, newer refused', () => {
    const both = index([armv6, armv7]);
    expect(selectPlatform(both, nodePlatform('arm', 'linux', '7'))?.digest).toBe(both.manifests[1]?.digest);
    expect(selectPlatform(index([armv6]), nodePlatform('arm', 'linux', '7'))).toBeDefined();
    expect(selectPlatform(index([armv7]), nodePlatform('arm', 'linux', '6'))).toBeUndefined();
  });
  it('no match, wrong OS, entries without platform or of other media types', () => {
    expect(selectPlatform(index([arm64]), nodePlatform('x64', 'linux'))).toBeUndefined();
    expect(selectPlatform(index([{ os: 'windows', architecture: 'amd64' }]), amd64)).toBeUndefined();
    expect(selectPlatform(index([undefined]), amd64)).toBeUndefined();
    expect(selectPlatform(index([amd64], 'application/vnd.in-toto+json'), amd64)).toBeUndefined();
  });
  it('the first of equal matches wins', () => {
    const idx = index([amd64, amd64]);
    expect(selectPlatform(idx, amd64)?.digest).toBe(idx.manifests[0]?.digest);
  });
});
