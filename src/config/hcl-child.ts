// The plugin decodes plugin_data in a short-lived child process: HCL v1's
// decoder (js-hcl-parser, GopherJS) stays resident once loaded, ~15 MB for
// the plugin's whole life for a text it reads once per Configure. The child
// is this program itself (the same node binary and dist/main.js, or the same
// single executable: never anything looked up on PATH) in a hidden mode
// selected by the environment; it reads the text on stdin, answers one JSON
// line on stdout and exits. The parent reads the answer with the same checks
// and messages as in process (hcl-output.ts). Fail closed: a child that
// cannot start, exits otherwise, runs past its time or says too much is an
// error, never a configuration.

import { spawn } from 'node:child_process';

import { AttestorError, messageOf } from '../errors.js';
import { checkConfigSize, decoderFailed, MAX_CONFIG_BYTES, readHclOutput } from './hcl-output.js';

import type { HclObject } from './hcl-output.js';

const MODE_ENV = 'SPIRE_SIGSTORE_ATTESTOR_INTERNAL';
const MODE = 'decode-hcl-v1';
// A cold start (Node, then the 1.5 MB decoder) takes ~0.1 s here; a 1 MiB
// text decodes in well under a second.
const CHILD_TIMEOUT_MS = 15_000;
// The text travels as a JSON string (exact, lone surrogates included): at
// most 6 bytes per UTF-16 unit. The answer is JSON of that text's data.
const MAX_INPUT_BYTES = 6 * MAX_CONFIG_BYTES + 16;
const MAX_OUTPUT_BYTES = 8 * MAX_CONFIG_BYTES;

// How to start this program again: an absolute executable and its arguments.
export interface SelfCommand {
  readonly file: string;
  readonly args: readonly string[];
}

// Child -> parent: the decoder's raw answer, or what it threw.
type Answer = { readonly out: string } | { readonly threw: string };

export function isHclChildLaunch(env: NodeJS.ProcessEnv): boolean {
  return env[MODE_ENV] === MODE;
}

async function readBounded(stream: AsyncIterable<Buffer | string>, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > max) return undefined;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

// The child's side; returns its exit code.
export async function runHclChild(): Promise<number> {
  const input = await readBounded(process.stdin, MAX_INPUT_BYTES);
  if (!input) {
    process.stderr.write('plugin_data decoder: input too large\n');
    return 1;
  }
  const text: unknown = JSON.parse(input.toString('utf8'));
  if (typeof text !== 'string') {
    process.stderr.write('plugin_data decoder: input is not a JSON string\n');
    return 1;
  }
  const { decodeHclV1 } = await import('./hcl.js');
  let answer: Answer;
  try {
    answer = { out: decodeHclV1(text) };
  } catch (err) {
    answer = { threw: messageOf(err) };
  }
  await new Promise<void>((resolve, reject) => process.stdout.write(`${JSON.stringify(answer)}\n`, (err) => (err ? reject(err) : resolve())));
  return 0;
}

function childFailed(detail: string): AttestorError {
  return new AttestorError('INTERNAL', `plugin_data: the HCL decoder process failed: ${detail}`);
}

function readAnswer(stdout: string): Answer {
  const value: unknown = JSON.parse(stdout);
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (typeof v['out'] === 'string') return { out: v['out'] };
    if (typeof v['threw'] === 'string') return { threw: v['threw'] };
  }
  throw new Error('malformed answer');
}

function runChild(self: SelfCommand, input: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // Only the mode: no NODE_OPTIONS, no go-plugin cookie, nothing else.
    const child = spawn(self.file, [...self.args], { env: { [MODE_ENV]: MODE }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let failure: string | undefined;
    const fail = (why: string): void => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(`no answer within ${CHILD_TIMEOUT_MS} ms`), CHILD_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_OUTPUT_BYTES) fail(`answer larger than ${MAX_OUTPUT_BYTES} bytes`);
      else out.push(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      err = (err + chunk).slice(-2048);
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => fail(messageOf(e)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure === undefined && code !== 0) failure = `exited with ${signal ?? `code ${String(code)}`}${err.trim() ? `: ${err.trim()}` : ''}`;
      if (failure !== undefined) reject(childFailed(failure));
      else resolve(Buffer.concat(out).toString('utf8'));
    });
    child.stdin.end(input);
  });
}

// A decoder for plugin_data that runs `self` in the hidden mode.
export function childHclDecoder(self: SelfCommand): (text: string) => Promise<HclObject> {
  return async (text) => {
    checkConfigSize(text);
    const stdout = await runChild(self, JSON.stringify(text));
    let answer: Answer;
    try {
      answer = readAnswer(stdout);
    } catch (err) {
      throw childFailed(messageOf(err));
    }
    if ('threw' in answer) throw decoderFailed(answer.threw);
    return readHclOutput(text, answer.out);
  };
}
