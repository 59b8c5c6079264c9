// A real TUF repository (metadata generated and signed by @tufjs/repo-mock)
// whose trusted_root.json target is a given Sigstore's, served over HTTP on
// 127.0.0.1 only.

import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { tufHandlers } from '@tufjs/repo-mock/dist/handler.js';
import { initializeTUFRepo } from '@tufjs/repo-mock/dist/repo.js';

import { freePort } from '../../../support/registries.js';

export interface TufRepo {
  readonly url: string;
  // The TUF root.json the repository is trusted by.
  readonly rootFile: string;
  // Requests served so far.
  served(): number;
  close(): Promise<void>;
}

export async function serveTufRepo(trustedRoot: object, dir: string): Promise<TufRepo> {
  const repo = initializeTUFRepo([{ name: 'trusted_root.json', content: JSON.stringify(trustedRoot) }]);
  const handlers = new Map(tufHandlers(repo, { metadataPathPrefix: '' }).map((h) => [h.path, h.fn]));
  const rootFile = join(dir, 'tuf-root.json');
  writeFileSync(rootFile, JSON.stringify(repo.rootMeta.toJSON()));
  let served = 0;
  const server = createServer((req, res) => {
    served++;
    const fn = handlers.get(req.url ?? '');
    const answer = fn ? fn() : { statusCode: 404, response: '' };
    res.writeHead(answer.statusCode, { 'content-type': answer.contentType ?? 'application/octet-stream' });
    res.end(answer.response);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    rootFile,
    served: () => served,
    close: () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve())),
  };
}
