// The plugin's out-of-process plugin_data decoder (config/hcl-child.ts): the
// built program (dist/main.js, `npm run build`) in its hidden mode gives the
// same data and the same errors as parseHcl in process, and anything but a
// well-formed answer from the child is an error.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { childHclDecoder } from '../../../src/config/hcl-child.js';
import { parseHcl } from '../../../src/config/hcl.js';
import { thrown, rejected } from '../../support/errors.js';
import { TEST_POLICY } from '../../support/policy.js';

const MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));
const decode = childHclDecoder({ file: process.execPath, args: [MAIN] });
// A stand-in child that answers whatever `script` prints.
const fake = (script: string): ((text: string) => Promise<unknown>) => childHclDecoder({ file: process.execPath, args: ['-e', script] });

describe('childHclDecoder (plugin_data decoded in a child process)', () => {
  it('needs the build', () => {
    expect(existsSync(MAIN)).toBe(true);
  });

  it('decodes like parseHcl in process', async () => {
    const texts = [
      `"docker_socket_path" = "unix:///a"\nlog_level = "debug"\n${TEST_POLICY}`,
      'identity { issuer = "b"  subject_regexp = "c.*" }\nregistry "127.0.0.1:5000" { insecure = true }',
      '{"docker_socket_path": "unix:///j", "env_selectors": ["A", "B"]}',
      '',
      'a = "caf\u00e9 \ud83d\ude00"',
    ];
    for (const text of texts) expect(await decode(text)).toEqual(parseHcl(text));
  });

  it.each([
    ['an unterminated string', 'x = "abc\n'],
    ['a bad escape', 'a = "\\z"'],
    ['a key with a space', 'bad key = 1'],
    ['a dangling assignment', 'a = "x"\nd = '],
    ['a lone brace', '{'],
    ['a number out of range', 'x = 1e400'],
    ['a lone surrogate', 'a = "\ud800"'],
    ['oversized configuration', `a = "${'x'.repeat(1024 * 1024)}"`],
  ])('rejects %s with the same code and message as in process', async (_name, text) => {
    const inProcess = thrown(() => parseHcl(text));
    const err = await rejected(decode(text));
    expect([err.code, err.message]).toEqual([inProcess.code, inProcess.message]);
  });

  it.each([
    ['exits non-zero', 'process.exit(3)', /exited with code 3/],
    ['is killed', 'process.kill(process.pid, "SIGKILL")', /exited with SIGKILL/],
    ['answers nothing', '', /HCL decoder process failed/],
    ['answers something else', 'console.log(JSON.stringify({ ok: true }))', /malformed answer/],
  ])('fails closed (INTERNAL) when the child %s', async (_name, script, message) => {
    const err = await rejected(fake(script)('a = 1'));
    expect(err.code).toBe('INTERNAL');
    expect(err.message).toMatch(message);
  });

  it('reads a thrown decoder as CONFIG_SYNTAX, and checks the answer like in process', async () => {
    const threw = await rejected(fake('console.log(JSON.stringify({ threw: "boom" }))')('a = 1'));
    expect([threw.code, threw.message]).toEqual(['CONFIG_SYNTAX', 'plugin_data: HCL parser failed: boom']);
    const notObject = await rejected(fake('console.log(JSON.stringify({ out: "[1]" }))')('a = 1'));
    expect(notObject.message).toBe('plugin_data: configuration must be an object of keys');
  });
});
