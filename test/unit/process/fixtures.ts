import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach } from 'vitest';

// Shared fixture IDs: 64 lowercase hex, as Docker/containerd/CRI-O/podman
// generate them. Distinct so an ambiguity or wrong-ID bug cannot hide.

export const ID_A = '3f4b8c2a9d1e6f7081a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8';
export const ID_B = 'c0ffee00d15ea5e5b01dfacecafebabe0123456789abcdef0123456789abcdef';
export const ID_C = '9e107d9d372bb6826bd81d3542a419d6e4f9a2b3c4d5e6f7a8b9c0d1e2f3a4b5';

// Kubernetes pod UID (a UUID); systemd slices spell it with underscores.
export const POD_UID = '8a4e7f3c-6b2d-4d8e-9f1a-2c3b4d5e6f70';
export const POD_UID_US = POD_UID.replaceAll('-', '_');

export function lines(...ls: string[]): string {
  return `${ls.join('\n')}\n`;
}

// The code a promise rejects with; undefined when it resolves.
export { codeRejected as codeOf } from '../../support/errors.js';

// A fresh directory laid out like /proc for each test: root() is its path,
// writeCgroup() creates <root>/<pid>/cgroup.
export function procFixtureTree(prefix: string): { root: () => string; writeCgroup: (pid: number, content: string | Buffer) => Promise<void> } {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });
  return {
    root: () => root,
    writeCgroup: async (pid, content) => {
      await mkdir(join(root, String(pid)), { recursive: true });
      await writeFile(join(root, String(pid), 'cgroup'), content);
    },
  };
}
