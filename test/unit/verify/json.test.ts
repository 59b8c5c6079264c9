import { describe, expect, it } from 'vitest';

import { field, foldKey, parseStrictJson } from '../../../src/verify/json.js';
import { rejects } from './support/setup.js';

const parse = (text: string) => parseStrictJson(Buffer.from(text), 'doc');

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses', () => {
    const text = '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{"c":{}},"d":[]}';
    expect(parse(text)).toEqual(JSON.parse(text));
    expect(parse(' 42 ')).toBe(42);
  });

  it('keeps __proto__ as plain data', () => {
    const v = parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    ['duplicate keys', '{"a":1,"a":2}'],
    ['case-variant keys', '{"a":1,"A":2}'],
    ['escaped duplicates', '{"a":1,"\\u0061":2}'],
    ['Kelvin-sign fold', '{"k":1,"\u212A":2}'],
    ['trailing comma', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
    ['leading zeros', '{"a":01}'],
    ['raw control characters', '{"a":"\u0001"}'],
    ['bad escapes', '{"a":"\\x41"}'],
    ['trailing data', '{} []'],
    ['NaN', 'NaN'],
    ['empty input', ''],
    ['deep nesting', '['.repeat(100) + ']'.repeat(100)],
  ])('rejects %s', (_name, text) => {
    rejects(() => parse(text), 'SIGNATURE_MALFORMED');
  });

  it('rejects invalid UTF-8 and a BOM', () => {
    rejects(() => parseStrictJson(Buffer.from([0x22, 0xc3, 0x28, 0x22]), 'doc'), 'SIGNATURE_MALFORMED', /UTF-8/);
    rejects(() => parseStrictJson(Buffer.from('\ufeff{}'), 'doc'), 'SIGNATURE_MALFORMED');
  });
});

describe('field', () => {
  it('returns exact keys and refuses case variants', () => {
    const obj = parse('{"Type":1,"b":2}') as Record<string, never>;
    expect(field(obj, 'b', 'doc')).toBe(2);
    expect(field(obj, 'missing', 'doc')).toBeUndefined();
    rejects(() => field(obj, 'type', 'doc'), 'SIGNATURE_MALFORMED', /case variant/);
  });

  it('folds like Go', () => {
    expect(foldKey('\u212A')).toBe(foldKey('k'));
    expect(foldKey('\u017F')).toBe(foldKey('S'));
  });
});
