// Two modules that dockerode loads at its first require and that a client of
// a local socket never runs: docker-modem's SSH transport (`ssh://` hosts:
// ssh2, with its two native addons) and dockerode's BuildKit session (a gRPC
// server for `buildImage` version 2, whose proto-loader parses .proto files
// when it loads). Together about 11 MB of RSS for the rest of the process's
// life. They are replaced, by a module resolution hook here and by the
// single executable's bundler (scripts/build-sea.mjs imports this list), with
// stand-ins that fail the call with a clear error if it is ever made.

import * as nodeModule from 'node:module';

export interface UnusedModule {
  // What the parent module asks for.
  readonly specifier: string;
  // The parent, by the end of its path (either separator).
  readonly parent: RegExp;
  // CommonJS source of the stand-in.
  readonly source: string;
}

const UNSUPPORTED = 'is not part of spire-sigstore-attestor (it talks to the runtime on a local socket)';

export const UNUSED_DOCKERODE_MODULES: readonly UnusedModule[] = [
  {
    specifier: './ssh',
    parent: /[\\/]docker-modem[\\/]lib[\\/]modem\.js$/,
    source: `module.exports = function ssh() { throw new Error(${JSON.stringify(`docker-modem's ssh:// transport ${UNSUPPORTED}`)}); };`,
  },
  {
    specifier: './session',
    parent: /[\\/]dockerode[\\/]lib[\\/]docker\.js$/,
    source: `module.exports = function withSession(docker, auth, handler) { handler(new Error(${JSON.stringify(`dockerode's BuildKit session ${UNSUPPORTED}`)})); };`,
  },
];

const SCHEME = 'ssa-unused:';

// The stand-in for `specifier` asked for by `parent` (a path or file URL).
export function unusedModule(specifier: string, parent: string | undefined): UnusedModule | undefined {
  if (parent === undefined) return undefined;
  return UNUSED_DOCKERODE_MODULES.find((m) => m.specifier === specifier && m.parent.test(parent));
}

let registered = false;

// Installs the resolution hook (once; before dockerode is first loaded). A
// Node.js without synchronous hooks (before 22.15) loads dockerode whole.
export function skipUnusedDockerodeModules(): void {
  if (registered) return;
  registered = true;
  const { registerHooks } = nodeModule as Partial<typeof nodeModule>;
  if (registerHooks === undefined) return;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const unused = unusedModule(specifier, context.parentURL);
      if (unused === undefined) return nextResolve(specifier, context);
      return { url: `${SCHEME}${UNUSED_DOCKERODE_MODULES.indexOf(unused)}`, format: 'commonjs', shortCircuit: true };
    },
    load(url, context, nextLoad) {
      if (!url.startsWith(SCHEME)) return nextLoad(url, context);
      const unused = UNUSED_DOCKERODE_MODULES[Number(url.slice(SCHEME.length))];
      if (unused === undefined) throw new Error(`unknown stand-in ${url}`);
      return { format: 'commonjs', source: unused.source, shortCircuit: true };
    },
  });
}
