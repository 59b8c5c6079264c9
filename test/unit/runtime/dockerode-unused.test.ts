// dockerode without its SSH transport and BuildKit session
// (runtime/dockerode-unused.ts): which modules the hook replaces, and, in a
// fresh Node process running the build (dist/, `npm run build`), that
// dockerode then loads neither ssh2 nor the session's proto-loader, and that
// a call needing either fails with a clear error.

import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { unusedModule } from '../../../src/runtime/dockerode-unused.js';

const TRIM = pathToFileURL(fileURLToPath(new URL('../../../dist/runtime/dockerode-unused.js', import.meta.url))).href;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Loaded {
  readonly ssh2: boolean;
  readonly session: boolean;
  readonly protoLoader: boolean;
  readonly sshCall: string;
  readonly buildCall: string;
}

// Loads dockerode in a child (with the hook or without), reports which of
// the skipped modules are in the CommonJS cache and what the two calls say.
function loadDockerode(trimmed: boolean): Loaded {
  const script = `
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/package.json');
    if (${String(trimmed)}) (await import(${JSON.stringify(TRIM)})).skipUnusedDockerodeModules();
    const Docker = (await import('dockerode')).default;
    const loaded = (part) => Object.keys(require.cache).some((file) => file.includes(part));
    const message = async (call) => { try { await call(); return 'no error'; } catch (err) { return String(err.message); } };
    const ssh = new Docker({ protocol: 'ssh', host: '127.0.0.1', port: 1, username: 'nobody' });
    const local = new Docker({ socketPath: '/nonexistent/docker.sock' });
    const out = {
      ssh2: loaded('/node_modules/ssh2/'),
      session: loaded('/dockerode/lib/session.js'),
      protoLoader: loaded('/dockerode/node_modules/@grpc/proto-loader/'),
      sshCall: await message(() => ssh.listContainers()),
      buildCall: await message(() => local.buildImage({ context: '/nonexistent', src: [] }, { version: '2' })),
    };
    process.stdout.write(JSON.stringify(out));
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(stdout) as Loaded;
}

describe('unusedModule', () => {
  it("names docker-modem's ssh transport and dockerode's session, from those parents only", () => {
    expect(unusedModule('./ssh', '/r/node_modules/docker-modem/lib/modem.js')?.specifier).toBe('./ssh');
    expect(unusedModule('./ssh', 'file:///r/node_modules/docker-modem/lib/modem.js')?.specifier).toBe('./ssh');
    expect(unusedModule('./session', 'file:///r/node_modules/dockerode/lib/docker.js')?.specifier).toBe('./session');
    expect(unusedModule('./session', 'C:\\r\\node_modules\\dockerode\\lib\\docker.js')?.specifier).toBe('./session');
    expect(unusedModule('./ssh', '/r/node_modules/other/lib/modem.js')).toBeUndefined();
    expect(unusedModule('./session', '/r/node_modules/dockerode/lib/container.js')).toBeUndefined();
    expect(unusedModule('./http', '/r/node_modules/docker-modem/lib/modem.js')).toBeUndefined();
    expect(unusedModule('ssh2', '/r/node_modules/docker-modem/lib/ssh.js')).toBeUndefined();
    expect(unusedModule('./ssh', undefined)).toBeUndefined();
  });
});

describe('dockerode as the product loads it (a fresh process)', () => {
  it('loads whole without the hook', () => {
    const whole = loadDockerode(false);
    expect(whole).toMatchObject({ ssh2: true, session: true });
    expect(whole.buildCall).not.toMatch(/not part of spire-sigstore-attestor/);
  });

  it('loads neither ssh2 nor the BuildKit session with it; calls that need them fail clearly', () => {
    const trimmed = loadDockerode(true);
    expect(trimmed).toMatchObject({ ssh2: false, session: false, protoLoader: false });
    expect(trimmed.sshCall).toBe("docker-modem's ssh:// transport is not part of spire-sigstore-attestor (it talks to the runtime on a local socket)");
    expect(trimmed.buildCall).toBe("dockerode's BuildKit session is not part of spire-sigstore-attestor (it talks to the runtime on a local socket)");
  });
});
