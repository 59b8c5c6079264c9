import { describe, expect, it } from 'vitest';

import { parseTokenResponse, pickChallenge, pullScope, tokenLifetimeMs } from '../../../src/registry/auth.js';
import { parseWwwAuthenticate } from '../../../src/registry/challenge.js';
import { parseRetryAfter } from '../../../src/registry/http.js';

describe('parseWwwAuthenticate', () => {
  it('parses a distribution Bearer challenge', () => {
    const header = 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:acme/app:pull"';
    expect(parseWwwAuthenticate(header)).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:acme/app:pull' },
      },
    ]);
  });

  it('keeps commas and escaped quotes inside quoted values', () => {
    const header = 'Bearer realm="https://a/token", scope="repository:a/b:pull,push repository:c:pull", error="say \\"no\\""';
    const [c] = parseWwwAuthenticate(header);
    expect(c?.params).toEqual({ realm: 'https://a/token', scope: 'repository:a/b:pull,push repository:c:pull', error: 'say "no"' });
  });

  it('parses Basic, case-insensitive scheme and parameter names', () => {
    expect(parseWwwAuthenticate('basic Realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseWwwAuthenticate('Basic')).toEqual([{ scheme: 'basic', params: {} }]);
  });

  it('parses several challenges in one header, unquoted values and spaces around =', () => {
    const header = 'Basic realm="x", Bearer realm = "https://t/token" , service=reg.example ,Negotiate abc123==';
    expect(parseWwwAuthenticate(header)).toEqual([
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 'reg.example' } },
      { scheme: 'negotiate', params: {} },
    ]);
  });

  it('survives garbage', () => {
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate('"quoted"')).toEqual([]);
    expect(parseWwwAuthenticate('Bearer realm="unterminated')).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseWwwAuthenticate('Bearer ' + 'a=b,'.repeat(10_000)).length).toBeGreaterThan(0);
  });

  it('prefers Bearer with a realm, else Basic', () => {
    expect(pickChallenge(parseWwwAuthenticate('Basic realm="x", Bearer realm="https://t"'))?.scheme).toBe('bearer');
    expect(pickChallenge(parseWwwAuthenticate('Bearer service="x", Basic realm="x"'))?.scheme).toBe('basic');
    expect(pickChallenge(parseWwwAuthenticate('Negotiate'))).toBeUndefined();
  });
});

describe('token responses', () => {
  it('accepts token or access_token', () => {
    expect(parseTokenResponse(Buffer.from('{"token":"t1","expires_in":300}'), 'r')).toEqual({ token: 't1', lifetimeMs: 290_000 });
    expect(parseTokenResponse(Buffer.from('{"access_token":"t2"}'), 'r')).toEqual({ token: 't2', lifetimeMs: 50_000 });
    expect(parseTokenResponse(Buffer.from('{"token":"","access_token":"t3"}'), 'r').token).toBe('t3');
  });
  it('rejects malformed answers', () => {
    for (const body of ['nope', '[]', '{}', '{"token":5}', '{"token":"a b"}']) {
      expect(() => parseTokenResponse(Buffer.from(body), 'r')).toThrow(expect.objectContaining({ code: 'REGISTRY_RESPONSE' }));
    }
  });
  it('lifetime: expires_in minus a margin, default 60 s', () => {
    expect(tokenLifetimeMs(undefined)).toBe(50_000);
    expect(tokenLifetimeMs(-1)).toBe(50_000);
    expect(tokenLifetimeMs('60')).toBe(50_000);
    expect(tokenLifetimeMs(10)).toBe(5_000);
    expect(tokenLifetimeMs(3600)).toBe(3_590_000);
  });
  it('pull scope', () => {
    expect(pullScope('acme/app')).toBe('repository:acme/app:pull');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and dates', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  });
});
