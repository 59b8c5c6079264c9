import { describe, expect, it } from 'vitest';

import { AttestorError } from '../../../src/errors.js';
import { formatReference, manifestReferenceOf, parseReference, registryHost, repoDigestOf } from '../../../src/registry/reference.js';

const D = `sha256:${'a'.repeat(64)}`;
const D512 = `sha512:${'b'.repeat(128)}`;

interface Row {
  text: string;
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const valid: Row[] = [
  { text: 'busybox', registry: 'docker.io', repository: 'library/busybox' },
  { text: 'busybox:1.36', registry: 'docker.io', repository: 'library/busybox', tag: '1.36' },
  { text: 'acme/app:v1', registry: 'docker.io', repository: 'acme/app', tag: 'v1' },
  { text: 'docker.io/busybox', registry: 'docker.io', repository: 'library/busybox' },
  { text: 'index.docker.io/acme/app', registry: 'docker.io', repository: 'acme/app' },
  { text: 'docker.io/library/busybox:latest', registry: 'docker.io', repository: 'library/busybox', tag: 'latest' },
  { text: 'ghcr.io/acme/payments/api:2.0', registry: 'ghcr.io', repository: 'acme/payments/api', tag: '2.0' },
  { text: '127.0.0.1:5055/ssa-test/x:tag', registry: '127.0.0.1:5055', repository: 'ssa-test/x', tag: 'tag' },
  { text: 'localhost/app:1', registry: 'localhost', repository: 'app', tag: '1' },
  { text: 'localhost:5000/app', registry: 'localhost:5000', repository: 'app' },
  { text: 'Registry/app', registry: 'Registry', repository: 'app' },
  { text: '[::1]:5000/app:x', registry: '[::1]:5000', repository: 'app', tag: 'x' },
  { text: `busybox@${D}`, registry: 'docker.io', repository: 'library/busybox', digest: D },
  { text: `ghcr.io/a/b:1@${D}`, registry: 'ghcr.io', repository: 'a/b', tag: '1', digest: D },
  { text: `ghcr.io/a/b@${D512}`, registry: 'ghcr.io', repository: 'a/b', digest: D512 },
  { text: 'a/b__c/d-e--f/g.h_i:Tag_1.x-y', registry: 'docker.io', repository: 'a/b__c/d-e--f/g.h_i', tag: 'Tag_1.x-y' },
  { text: `${'a'.repeat(64)}:tag`, registry: 'docker.io', repository: `library/${'a'.repeat(64)}`, tag: 'tag' },
];

describe('parseReference', () => {
  it.each(valid)('$text', (row) => {
    const ref = parseReference(row.text);
    expect(ref.registry).toBe(row.registry);
    expect(ref.repository).toBe(row.repository);
    expect(ref.tag).toBe(row.tag);
    expect(ref.digest).toBe(row.digest);
    expect(ref.original).toBe(row.text);
  });

  const invalid: [string, RegExp][] = [
    ['', /empty/],
    ['Busybox', /lowercase/],
    ['ghcr.io/Acme/app', /lowercase/],
    ['ghcr.io/acme/app:', /tag/],
    ['ghcr.io/acme/app:-x', /tag/],
    [`ghcr.io/acme/app:${'t'.repeat(129)}`, /tag/],
    ['ghcr.io/acme/app@sha256:abc', /digest/],
    [`ghcr.io/acme/app@sha256:${'A'.repeat(64)}`, /digest/],
    [`ghcr.io/acme/app@md5:${'a'.repeat(32)}`, /digest/],
    ['ghcr.io/', /no repository/],
    ['ghcr.io//app', /path component/],
    ['acme/app/', /path component/],
    ['acme/-app', /path component/],
    ['acme/a..b', /path component/],
    [' busybox', /whitespace/],
    ['busy box', /whitespace/],
    ['-bad.host/app', /registry/],
    ['host_name.io/app', /registry/],
    ['a'.repeat(64), /image ID/],
    [`example.com/${'a'.repeat(250)}`, /longer than 255/],
    ['x'.repeat(2000), /too long/],
  ];
  it.each(invalid)('rejects %j', (text, why) => {
    let caught: unknown;
    try {
      parseReference(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AttestorError);
    expect((caught as AttestorError).code).toBe('REFERENCE_INVALID');
    expect((caught as AttestorError).message).toMatch(why);
  });
});

describe('registryHost', () => {
  it.each([
    ['docker.io', 'registry-1.docker.io'],
    ['index.docker.io', 'registry-1.docker.io'],
    ['ghcr.io', 'ghcr.io'],
    ['127.0.0.1:5055', '127.0.0.1:5055'],
    ['localhost', 'localhost'],
  ])('%s -> %s', (registry, host) => {
    expect(registryHost(registry)).toBe(host);
  });
});

describe('repoDigestOf', () => {
  it('parses Docker RepoDigests entries', () => {
    expect(repoDigestOf(`127.0.0.1:5055/ssa-test/x@${D}`)).toMatchObject({ registry: '127.0.0.1:5055', repository: 'ssa-test/x', digest: D });
    expect(repoDigestOf(`busybox@${D}`)).toMatchObject({ registry: 'docker.io', repository: 'library/busybox', digest: D });
  });
  it('needs a digest and no tag', () => {
    expect(() => repoDigestOf('busybox:1')).toThrow(/needs @<digest>/);
    expect(() => repoDigestOf(`busybox:1@${D}`)).toThrow(/no tag/);
  });
});

describe('formatReference / manifestReferenceOf', () => {
  it('round-trips and prefers the digest', () => {
    const ref = parseReference(`ghcr.io/a/b:1@${D}`);
    expect(formatReference(ref)).toBe(`ghcr.io/a/b:1@${D}`);
    expect(manifestReferenceOf(ref)).toBe(D);
    expect(manifestReferenceOf(parseReference('ghcr.io/a/b:1'))).toBe('1');
    expect(manifestReferenceOf(parseReference('ghcr.io/a/b'))).toBe('latest');
    expect(formatReference(parseReference('busybox'))).toBe('docker.io/library/busybox');
  });
});
