// The demo (runall.sh runs this file): SPIRE issues SVIDs only to signed
// containers. Real dockerd, registry, spire-server and spire-agent loading
// our plugin with conf/demo/*.conf; seven workloads ask the Workload API for
// an X.509-SVID from inside their containers:
//   keyless-signed  signed keyless by the allowed release workflow -> SVID
//   key-signed      signed with the cosign key pair "demo-release"  -> SVID
//   unsigned        pushed, never signed                           -> none
//   tampered        signed, then rebuilt locally under the same tag -> none
//   other-signer    signed keyless by another allowed workflow     -> none
//                   (its entry asks for the release workflow)
//   built-release   signed and attested (SLSA v1) by the build system's key,
//                   built by the api release workflow              -> SVID
//   built-elsewhere signed and attested the same way, but its provenance
//                   names another builder                          -> none
// A table of the results is written to $SSA_STATE_DIR/demo/report.txt (and
// report.json); SSA_DEMO_KEEP=1 leaves the servers and images in place.

import { copyFileSync, chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { attestWithKey, generateKeyPair, signWithKey, slsaPredicate } from '../support/cosign.js';
import { PLUGIN_BIN, REPO_ROOT } from '../support/plugin-process.js';
import { pushLegacySignature } from '../support/push-signature.js';
import { describeWithRig, docker, rigStateDir, type Rig } from '../support/rig.js';
import {
  agentEnv,
  attestations,
  fetchX509InContainer,
  freePort,
  runSpireAgent,
  runSpireServer,
  sha256File,
  TRUST_DOMAIN,
  waitAgentHealthy,
  waitFor,
} from '../support/spire.js';
import { fulcioExtensions, keylessLegacy, mockSigstore } from '../unit/verify/support/rig.js';

import type { Digest } from '../../src/registry/types.js';
import type { SpireAgent, SpireServer } from '../support/spire.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const RELEASE = 'https://github.com/acme/payments/.github/workflows/release.yml@refs/heads/main';
const NIGHTLY = 'https://github.com/acme/payments/.github/workflows/nightly.yml@refs/heads/main';
const API_BUILDER = 'https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main';
const FORK_BUILDER = 'https://github.com/mallory/api-fork/.github/workflows/release.yml@refs/heads/main';
const SEA_BIN = join(REPO_ROOT, 'dist-sea/spire-sigstore-attestor');

interface Workload {
  name: string;
  expectSvid: boolean;
  spiffeId?: string;
  why: string;
}

const WORKLOADS: Workload[] = [
  { name: 'keyless-signed', expectSvid: true, spiffeId: `spiffe://${TRUST_DOMAIN}/demo/payments`, why: 'signed keyless by the release workflow' },
  { name: 'key-signed', expectSvid: true, spiffeId: `spiffe://${TRUST_DOMAIN}/demo/batch`, why: 'signed with the demo-release key' },
  { name: 'unsigned', expectSvid: false, why: 'no signature: no signer selectors' },
  { name: 'tampered', expectSvid: false, why: 'local image is not the registry manifest: no selectors' },
  { name: 'other-signer', expectSvid: false, why: 'signed by the nightly workflow, not the release one' },
  { name: 'built-release', expectSvid: true, spiffeId: `spiffe://${TRUST_DOMAIN}/demo/api`, why: 'signed, and SLSA provenance from the api release workflow' },
  { name: 'built-elsewhere', expectSvid: false, why: 'signed, but its provenance names another builder' },
];

interface Row {
  workload: string;
  svid: string;
  selectors: string[];
  expected: boolean;
  ok: boolean;
  why: string;
}

function progress(message: string): void {
  process.stderr.write(`demo: ${message}\n`);
}

function render(template: string, vars: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_0-9]+)\}/g, (_m, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`conf template needs \${${name}}`);
    return value;
  });
}

// Selector values of the last attestation in `log` that carries `label`.
function selectorsFor(log: string, label: string): string[] {
  const values = attestations(log).map((sels) => sels.map((sel) => sel.value));
  return values.filter((v) => v.some((x) => x.includes(label))).at(-1) ?? [];
}

function table(rows: readonly Row[]): string {
  const summary = (s: readonly string[]): string => {
    const signer = s.filter((x) => x.startsWith('image-signature-identity:') || x.startsWith('image-signature-key:') || x.startsWith('image-attestation:'));
    const bound = s.includes('image_binding:bound') ? 'bound' : 'not bound';
    return s.length === 0 ? '(none: attestation failed closed)' : `${bound}; ${signer.length > 0 ? signer.join(', ') : 'no verified signer'}`;
  };
  const head = ['workload', 'SVID', 'selectors (binding; signer, attestation)', 'why', 'expected?'];
  const body = rows.map((r) => [r.workload, r.svid, summary(r.selectors), r.why, r.ok ? 'yes' : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n');
}

describeWithRig('demo: SPIRE issues SVIDs only to signed containers', ['spire', 'docker', 'registry', 'cosign'], (rig: Rig) => {
  const state = join(rigStateDir(), 'demo');
  const keep = process.env['SSA_DEMO_KEEP'] === '1';
  const repo = `${rig.registry}/demo`;
  const tagOf = (name: string): string => `${repo}/${name}:1`;
  let server: SpireServer | undefined;
  let agent: SpireAgent | undefined;
  const rows: Row[] = [];

  async function ok(args: string[], input?: string): Promise<string> {
    const r = await docker(rig, args, { timeoutMs: 120_000, ...(input === undefined ? {} : { input }) });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  async function build(name: string, marker: string): Promise<void> {
    const ctx = join(state, 'build', name);
    mkdirSync(ctx, { recursive: true });
    copyFileSync(rig.spireAgentStatic, join(ctx, 'spire-agent'));
    chmodSync(join(ctx, 'spire-agent'), 0o755);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${rig.busyboxImage}\nCOPY spire-agent /bin/spire-agent\nLABEL demo.workload=${name} demo.build=${marker}\n`);
    await ok(['build', '-q', '-t', tagOf(name), ctx]);
  }

  async function pushed(name: string): Promise<Digest> {
    await ok(['push', '-q', tagOf(name)]);
    const rd = await ok(['image', 'inspect', '-f', '{{index .RepoDigests 0}}', tagOf(name)]);
    return rd.slice(rd.indexOf('@') + 1) as Digest;
  }

  beforeAll(async () => {
    rmSync(state, { recursive: true, force: true });
    for (const d of ['server/data', 'agent/data', 'keys', 'keyless', 'build']) mkdirSync(join(state, d), { recursive: true });
    chmodSync(state, 0o755);

    progress(`1/6 images: building ${WORKLOADS.length} small FROM-scratch workloads`);
    for (const w of WORKLOADS) await build(w.name, 'release');
    const digests: Record<string, Digest> = {};
    for (const w of WORKLOADS) digests[w.name] = await pushed(w.name);

    progress('2/6 signing: keyless (demo Sigstore: test Fulcio CA, CT log, Rekor) and with cosign keys; cosign attest: SLSA provenance');
    const sigstore = await mockSigstore();
    writeFileSync(join(state, 'keyless/trusted_root.json'), JSON.stringify(sigstore.trustedRoot, null, 2));
    const target = (name: string) => ({ url: `http://${rig.registry}`, repository: `demo/${name}` });
    const release = await keylessLegacy(sigstore, digests['keyless-signed'] as Digest, { san: RELEASE, extensions: fulcioExtensions(ISSUER) });
    await pushLegacySignature(target('keyless-signed'), release.candidate);
    const nightly = await keylessLegacy(sigstore, digests['other-signer'] as Digest, { san: NIGHTLY, extensions: fulcioExtensions(ISSUER) });
    await pushLegacySignature(target('other-signer'), nightly.candidate);
    const key = await generateKeyPair(rig, join(state, 'keys'), 'demo-release');
    await signWithKey(rig, `${repo}/key-signed@${digests['key-signed']}`, key, 'legacy');
    await signWithKey(rig, `${repo}/tampered@${digests['tampered']}`, key, 'legacy');
    const builder = await generateKeyPair(rig, join(state, 'keys'), 'demo-builder');
    const source = { repository: 'https://github.com/acme/api', ref: 'refs/heads/main', commit: '1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c' };
    for (const [name, builderId] of [
      ['built-release', API_BUILDER],
      ['built-elsewhere', FORK_BUILDER],
    ] as const) {
      const predicate = join(state, 'build', `${name}.provenance.json`);
      writeFileSync(predicate, JSON.stringify(slsaPredicate('v1', { builderId, ...source })));
      await signWithKey(rig, `${repo}/${name}@${digests[name]}`, builder, 'bundle');
      await attestWithKey(rig, `${repo}/${name}@${digests[name]}`, builder, 'bundle', 'slsaprovenance1', predicate);
    }
    // Tampered: same name and tag, different content, never pushed.
    await build('tampered', 'tampered');

    progress('3/6 spire-server');
    const port = await freePort();
    const usingSea = existsSync(SEA_BIN) && process.env['SSA_DEMO_PLUGIN'] !== 'script';
    const pluginCmd = usingSea ? SEA_BIN : PLUGIN_BIN;
    const vars: Record<string, string> = {
      STATE: state,
      SERVER_PORT: String(port),
      DOCKER_HOST: rig.dockerHost,
      REGISTRY: rig.registry,
      PLUGIN_CMD: pluginCmd,
      PLUGIN_SHA256: sha256File(pluginCmd),
    };
    writeFileSync(join(state, 'server.conf'), render(readFileSync(join(REPO_ROOT, 'conf/demo/server.conf'), 'utf8'), vars));
    const spire = await runSpireServer(rig.spireServer, join(state, 'server.conf'), join(state, 'server/server.sock'), port);
    server = spire;
    const out = await server.cli(['token', 'generate', '-spiffeID', `spiffe://${TRUST_DOMAIN}/demo-node`]);
    const token = /Token:\s*(\S+)/.exec(out)?.[1] ?? '';
    const parent = `spiffe://${TRUST_DOMAIN}/spire/agent/join_token/${token}`;

    progress(`4/6 spire-agent with the plugin (${usingSea ? 'single executable' : 'bin/ launcher'} ${pluginCmd}, sha256 ${vars['PLUGIN_SHA256']})`);
    writeFileSync(join(state, 'agent.conf'), render(readFileSync(join(REPO_ROOT, 'conf/demo/agent.conf'), 'utf8'), { ...vars, JOIN_TOKEN: token }));
    agent = runSpireAgent(rig.spireAgent, join(state, 'agent.conf'), join(state, 'agent/agent.sock'), agentEnv());
    await waitAgentHealthy(rig.spireAgent, agent);
    chmodSync(join(state, 'agent'), 0o755);

    progress('5/6 registration entries by signer');
    const entry = (path: string, selector: string): Promise<string> =>
      spire.cli(['entry', 'create', '-parentID', parent, '-spiffeID', `spiffe://${TRUST_DOMAIN}/demo/${path}`, '-selector', selector]);
    await entry('payments', 'docker:image-signature-identity:release');
    await entry('batch', 'docker:image-signature-key:demo-release');
    // Signed by the build system and built by the api release workflow.
    await spire.cli([
      'entry',
      'create',
      '-parentID',
      parent,
      '-spiffeID',
      `spiffe://${TRUST_DOMAIN}/demo/api`,
      '-selector',
      'docker:image-signature-key:demo-builder',
      '-selector',
      'docker:image-attestation:release-build',
    ]);
    // Let the agent sync the entries.
    await waitFor('entries synced', () => (agent?.log().match(/Entry created/g) ?? []).length >= 4, 30_000);

    progress('6/6 workloads ask the Workload API for an X.509-SVID');
    for (const w of WORKLOADS) {
      const before = agent.log().length;
      const r = await fetchX509InContainer(rig, join(state, 'agent'), tagOf(w.name));
      const output = r.output;
      const svid = /SPIFFE ID:\s*(\S+)/.exec(output)?.[1];
      const selectors = selectorsFor(agent.log().slice(before), `demo.workload:${w.name}`);
      const got = r.code === 0 && svid !== undefined;
      rows.push({
        workload: w.name,
        svid: got ? svid : 'none',
        selectors,
        expected: w.expectSvid,
        ok: got === w.expectSvid && (!w.spiffeId || svid === w.spiffeId),
        why: w.why,
      });
    }
    const text = table(rows);
    writeFileSync(join(state, 'report.txt'), `${text}\n`);
    writeFileSync(join(state, 'report.json'), `${JSON.stringify(rows, null, 2)}\n`);
    process.stdout.write(`\n${text}\n\n`);
  }, 600_000);

  afterAll(async () => {
    if (keep) {
      progress(`--keep: spire-server and spire-agent keep running; state in ${state}`);
      agent?.child.unref();
      server?.child.unref();
      return;
    }
    await agent?.stop();
    await server?.stop();
    await docker(rig, ['rmi', '-f', ...WORKLOADS.map((w) => tagOf(w.name))]);
  });

  for (const w of WORKLOADS) {
    it(`${w.name}: ${w.expectSvid ? `gets ${w.spiffeId ?? 'an SVID'}` : 'gets no SVID'}`, () => {
      const row = rows.find((r) => r.workload === w.name);
      expect(row, 'the workload ran').toBeDefined();
      if (w.expectSvid) expect(row?.svid).toBe(w.spiffeId);
      else expect(row?.svid).toBe('none');
    });
  }

  it('binds and names the signers in the selectors', () => {
    const by = (name: string) => rows.find((r) => r.workload === name)?.selectors ?? [];
    // signer_selectors = "named" (conf/demo/agent.conf): the rule, not its fields.
    expect(by('keyless-signed')).toEqual(expect.arrayContaining(['image_binding:bound', 'image-signature:verified', 'image-signature-identity:release']));
    expect(by('keyless-signed').some((s) => s.startsWith('image-signature-subject:'))).toBe(false);
    expect(by('key-signed')).toEqual(expect.arrayContaining(['image_binding:bound', 'image-signature-key:demo-release']));
    expect(by('unsigned').some((s) => s.startsWith('image-signature'))).toBe(false);
    expect(by('tampered')).toEqual([]);
    expect(by('other-signer')).toEqual(expect.arrayContaining(['image-signature-identity:nightly']));
    expect(by('other-signer')).not.toContain('image-signature-identity:release');
    expect(by('built-release')).toEqual(expect.arrayContaining(['image-signature-key:demo-builder', 'image-attestation:release-build']));
    expect(by('built-elsewhere')).toContain('image-signature-key:demo-builder');
    expect(by('built-elsewhere').some((s) => s.startsWith('image-attestation'))).toBe(false);
  });
});
