import { describe, expect, it } from 'vitest';

import { buildConfig, DEFAULTS } from '../../../src/config/build.js';
import { parseHcl } from '../../../src/config/hcl.js';
import { ConfigReader } from '../../../src/config/reader.js';
import type { AttestorError } from '../../../src/errors.js';
import { thrown } from '../../support/errors.js';
import { TEST_POLICY } from '../../support/policy.js';

const errorOf = (fn: () => unknown): AttestorError => thrown(fn);

describe('parseHcl (HCL v1 and JSON)', () => {
  it('reads quoted and bare keys the way SPIRE re-prints plugin_data', () => {
    expect(parseHcl('"docker_socket_path" = "unix:///a"\nlog_level = "debug"\n')).toEqual({
      docker_socket_path: 'unix:///a',
      log_level: 'debug',
    });
  });

  it('turns repeated blocks into lists and labelled blocks into keyed lists', () => {
    const text = `
      identity {
        issuer  = "https://token.actions.githubusercontent.com"
        subject = "a"
      }
      identity { issuer = "b"  subject_regexp = "c.*" }
      registry "127.0.0.1:5000" { insecure = true }
    `;
    expect(parseHcl(text)).toEqual({
      identity: [
        { issuer: 'https://token.actions.githubusercontent.com', subject: 'a' },
        { issuer: 'b', subject_regexp: 'c.*' },
      ],
      registry: [{ '127.0.0.1:5000': [{ insecure: true }] }],
    });
  });

  it('reads a plugin_data_file in JSON', () => {
    expect(parseHcl('{"docker_socket_path": "unix:///j", "env_selectors": ["A", "B"]}')).toEqual({
      docker_socket_path: 'unix:///j',
      env_selectors: ['A', 'B'],
    });
  });

  it('accepts empty text, comments only, and an empty JSON object', () => {
    expect(parseHcl('')).toEqual({});
    expect(parseHcl('# nothing here\n// nor here\n/* nor */')).toEqual({});
    expect(parseHcl('{}')).toEqual({});
  });

  it.each([
    ['an unterminated string', 'x = "abc\n', /line 1, column 9: literal not terminated/],
    ['a bad escape', 'a = "\\z"', /line 1, column 7: illegal char escape/],
    ['a key with a space', 'bad key = 1', /line 1, column 9/],
    ['a dangling assignment', 'a = "x"\nd = ', /last key has no value/],
    ['a lone brace', '{', /no key could be read/],
    ['broken JSON', '{"a": }', /no key could be read/],
    ['a number out of range', 'x = 1e400', /HCL syntax error: .*out of range/],
  ])('rejects %s with CONFIG_SYNTAX and a position where there is one', (_name, text, message) => {
    const err = errorOf(() => parseHcl(text));
    expect(err.code).toBe('CONFIG_SYNTAX');
    expect(err.message).toMatch(message);
  });

  it('refuses oversized configuration', () => {
    const err = errorOf(() => parseHcl(`a = "${'x'.repeat(1024 * 1024)}"`));
    expect(err.message).toMatch(/larger than/);
  });
});

describe('buildConfig', () => {
  it('rejects an empty plugin_data (SPIRE sends ""): a signer policy is required', () => {
    const err = errorOf(() => buildConfig(''));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('identity: at least one identity { }, key { } or attestation { } block is required');
  });

  it('applies defaults to everything but the signer policy', () => {
    expect(buildConfig(TEST_POLICY)).toEqual({
      fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
      logLevel: 'info',
      // TEST_POLICY sets persist_verdicts = false.
      verdicts: { refreshMs: 6 * 3600_000, maxStaleMs: 24 * 3600_000, cacheDir: undefined },
      runtimes: {
        dockerSocketPath: DEFAULTS.dockerSocketPath,
        podmanSocketPath: DEFAULTS.podmanSocketPath,
        containerdSocketPath: 'unix:///run/containerd/containerd.sock',
        containerdNamespaces: ['k8s.io', 'default'],
        allowUntrustedSocketDir: false,
        envSelectors: [],
        prefetchOnStart: false,
      },
      registry: { registries: {}, dockerConfigPath: undefined, timeoutMs: DEFAULTS.registryTimeoutMs },
      signatures: {
        identities: [{ issuer: 'https://issuer.invalid', subject: 'nobody@example.invalid', claims: {} }],
        keys: [],
        attestations: [],
        requireTlog: true,
        requireSct: true,
        // TEST_POLICY is offline: the embedded public-good root, no TUF.
        trustRoots: [{ name: 'public-good', start: { kind: 'embedded' }, tuf: undefined, refresh: false, requirements: 'policy', label: '' }],
        signerSelectors: 'all',
        policy: expect.objectContaining({ keyNames: [], allowKeyless: true }),
      },
    });
  });

  it('reads every key', () => {
    const config = buildConfig(`
      docker_socket_path = "unix:///run/d.sock"
      podman_socket_path = "unix:///run/p.sock"
      containerd_socket_path = "unix:///run/c.sock"
      containerd_namespaces = ["default", "nerdctl-ns"]
      allow_untrusted_socket_dir = true
      env_selectors = ["APP_ENV", "TIER"]
      log_level = "warn"
      ${TEST_POLICY}
    `);
    expect(config).toMatchObject({
      logLevel: 'warn',
      runtimes: {
        dockerSocketPath: 'unix:///run/d.sock',
        podmanSocketPath: 'unix:///run/p.sock',
        containerdSocketPath: 'unix:///run/c.sock',
        containerdNamespaces: ['default', 'nerdctl-ns'],
        allowUntrustedSocketDir: true,
        envSelectors: ['APP_ENV', 'TIER'],
      },
    });
  });

  it.each([
    ['an unknown key', 'docker_socket = "unix:///x"', 'docker_socket: unknown configuration key'],
    ['a wrong type', 'docker_socket_path = 5', 'docker_socket_path: must be a string, got number 5'],
    ['a non-unix endpoint', 'docker_socket_path = "tcp://1.2.3.4:2375"', 'docker_socket_path: must be a unix socket URL'],
    ['a bad log level', 'log_level = "loud"', 'log_level: must be one of trace, debug, info, warn, error, got "loud"'],
    ['a non-boolean', 'allow_untrusted_socket_dir = "yes"', 'allow_untrusted_socket_dir: must be true or false'],
    ['a non-list', 'env_selectors = "A"', 'env_selectors: must be a list of strings'],
    ['a bad variable name', 'env_selectors = ["A-B"]', 'env_selectors: "A-B" is not an environment variable name'],
    ['a non-unix containerd endpoint', 'containerd_socket_path = "/run/c.sock"', 'containerd_socket_path: must be a unix socket URL'],
    ['a bad containerd namespace', 'containerd_namespaces = ["k8s io"]', 'containerd_namespaces: "k8s io" is not a containerd namespace name'],
    ['a repeated containerd namespace', 'containerd_namespaces = ["a", "a"]', 'containerd_namespaces: "a" is named twice'],
    ['a block where a value belongs', 'log_level { x = 1 }', 'log_level: must be a string, got a list'],
  ])('rejects %s with CONFIG_INVALID naming the key', (_name, text, message) => {
    const err = errorOf(() => buildConfig(text));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(message);
  });

  it('reports every problem at once', () => {
    const err = errorOf(() => buildConfig('a = 1\nb = 2\nlog_level = "x"'));
    expect(err.message).toContain('a: unknown configuration key');
    expect(err.message).toContain('b: unknown configuration key');
    expect(err.message).toContain('log_level: must be one of');
  });
});

describe('registry settings', () => {
  it('reads labelled registry blocks with secrets from files', () => {
    const config = buildConfig(`
      docker_config_path = "/etc/spire/docker/config.json"
      registry_timeout_ms = 2500
      registry "127.0.0.1:5000" {
        insecure = true
        binding = "skip"
      }
      registry "ghcr.io" {
        username      = "bot"
        password_file = "/etc/spire/ghcr-password"
        ca_file       = "/etc/spire/ca.pem"
      }
      registry "registry.example" { token_file = "/etc/spire/token" }
      ${TEST_POLICY}
    `);
    expect(config.registry).toEqual({
      dockerConfigPath: '/etc/spire/docker/config.json',
      timeoutMs: 2500,
      registries: {
        '127.0.0.1:5000': { insecure: true, binding: 'skip' },
        'ghcr.io': { insecure: false, binding: 'require', username: 'bot', passwordFile: '/etc/spire/ghcr-password', caFile: '/etc/spire/ca.pem' },
        'registry.example': { insecure: false, binding: 'require', tokenFile: '/etc/spire/token' },
      },
    });
  });

  it.each([
    ['an inline password', 'registry "ghcr.io" { username = "u"\n password = "p" }', 'registry["ghcr.io"].password: secrets are not accepted inline'],
    ['a username without password file', 'registry "ghcr.io" { username = "u" }', 'registry["ghcr.io"].username: needs password_file'],
    ['both token and username', 'registry "r.io" { username = "u"\n password_file = "/p"\n token_file = "/t" }', 'registry["r.io"].token_file: use either'],
    ['a bad host label', 'registry "https://r.io" { insecure = true }', 'registry["https://r.io"]: "https://r.io" is not a registry host[:port]'],
    ['an unknown registry key', 'registry "r.io" { insecure = true\n verify = false }', 'registry["r.io"].verify: unknown configuration key'],
    ['insecure with a CA', 'registry "r.io" { insecure = true\n ca_file = "/ca" }', 'registry["r.io"].ca_file: makes no sense'],
    ['an unknown binding mode', 'registry "r.io" { binding = "never" }', 'registry["r.io"].binding: must be one of require, prefer, skip, got "never"'],
    ['a timeout out of range', 'registry_timeout_ms = 5', 'registry_timeout_ms: must be an integer from 100 to 120000'],
  ])('rejects %s', (_name, text, message) => {
    const err = errorOf(() => buildConfig(text));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(message);
  });
});

describe('signature policy', () => {
  it('reads identities (exact, regexp, claims), keys and switches', () => {
    const config = buildConfig(`
      identity {
        issuer         = "https://token.actions.githubusercontent.com"
        subject_regexp = "https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.*"
        claims {
          source_repository_ref = "refs/heads/main"
          runner_environment    = "github-hosted"
        }
      }
      identity {
        issuer_regexp = "https://accounts[.]example[.]com"
        subject       = "release@example.com"
      }
      key {
        name = "release-key"
        path = "/etc/spire/cosign.pub"
      }
      require_tlog = false
      require_sct  = false
      trusted_root_file = "/etc/spire/trusted_root.json"
    `);
    expect(config.signatures).toEqual({
      identities: [
        {
          issuer: 'https://token.actions.githubusercontent.com',
          subjectRegexp: 'https://github.com/acme/.+/.github/workflows/release.yml@refs/tags/v.*',
          claims: { source_repository_ref: 'refs/heads/main', runner_environment: 'github-hosted' },
        },
        { issuerRegexp: 'https://accounts[.]example[.]com', subject: 'release@example.com', claims: {} },
      ],
      keys: [{ name: 'release-key', path: '/etc/spire/cosign.pub' }],
      attestations: [],
      requireTlog: false,
      requireSct: false,
      trustRoots: [
        { name: 'default', start: { kind: 'file', path: '/etc/spire/trusted_root.json' }, tuf: undefined, refresh: false, requirements: 'policy', label: '' },
      ],
      signerSelectors: 'all',
      policy: expect.objectContaining({ keyNames: ['release-key'], requireTlog: false, allowKeyless: true }),
    });
  });

  it.each([
    ['an identity without issuer', 'identity { subject = "a" }', 'identity[0]: needs exactly one of issuer or issuer_regexp'],
    [
      'an identity with both subject forms',
      'identity {\n issuer = "i"\n subject = "a"\n subject_regexp = "b"\n}',
      'identity[0]: needs exactly one of subject or subject_regexp',
    ],
    ['a broken regexp', 'identity {\n issuer = "i"\n subject_regexp = "("\n}', 'identity[0].subject_regexp: "(" is not a valid regular expression'],
    ['an unknown claim', 'identity {\n issuer = "i"\n subject = "s"\n claims { workflow = "x" }\n}', 'identity[0].claims.workflow: unknown Fulcio claim'],
    ['a key without path', 'key { name = "k" }', 'key.path: is required'],
    ['two keys with one name', 'key {\n name = "k"\n path = "/a"\n}\nkey {\n name = "k"\n path = "/b"\n}', 'key: name "k" is used twice'],
    ['an unknown identity key', 'identity {\n issuer = "i"\n subject = "s"\n san = "x"\n}', 'identity.san: unknown configuration key'],
  ])('rejects %s', (_name, text, message) => {
    const err = errorOf(() => buildConfig(text));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(message);
  });
});

describe('verdict cache settings', () => {
  it('defaults: refreshed every 6 h, used up to 24 h while the registry is down, persisted in /var/lib/spire-sigstore-attestor/verdicts', () => {
    const config = buildConfig(TEST_POLICY.replace('persist_verdicts = false\n', ''));
    expect(config.verdicts).toEqual({ refreshMs: 6 * 3600_000, maxStaleMs: 24 * 3600_000, cacheDir: '/var/lib/spire-sigstore-attestor/verdicts' });
  });

  it('reads verdict_refresh_interval_s, verdict_max_staleness_s and verdict_cache_dir', () => {
    const config = buildConfig(
      `${TEST_POLICY.replace('persist_verdicts = false\n', '')}verdict_refresh_interval_s = 3600\nverdict_max_staleness_s = 7200\nverdict_cache_dir = "/srv/verdicts"\n`,
    );
    expect(config.verdicts).toEqual({ refreshMs: 3600_000, maxStaleMs: 7200_000, cacheDir: '/srv/verdicts' });
  });

  it.each([
    [
      'a staleness bound below the refresh interval',
      'verdict_refresh_interval_s = 7200\nverdict_max_staleness_s = 3600',
      'verdict_max_staleness_s: must be at least verdict_refresh_interval_s',
    ],
    ['a refresh interval under a minute', 'verdict_refresh_interval_s = 5', 'verdict_refresh_interval_s'],
    ['a relative cache directory', 'verdict_cache_dir = "verdicts"', 'verdict_cache_dir: must be an absolute path'],
  ])('rejects %s', (_name, text, message) => {
    const err = errorOf(() => buildConfig(`${TEST_POLICY}${text}\n`));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(message);
  });

  it('the fingerprint follows the plugin_data text', () => {
    expect(buildConfig(TEST_POLICY).fingerprint).toBe(buildConfig(TEST_POLICY).fingerprint);
    expect(buildConfig(`${TEST_POLICY}log_level = "debug"\n`).fingerprint).not.toBe(buildConfig(TEST_POLICY).fingerprint);
  });
});

describe('attestation rules', () => {
  const KEY = 'key {\n name = "builder"\n path = "/etc/spire/builder.pub"\n}\n';

  it('reads attestation blocks: predicate type, an identity or a key, SLSA requirements; attestation rules alone are a policy', () => {
    const config = buildConfig(`
      ${KEY}
      attestation "slsa-build" {
        predicate_type    = "https://slsa.dev/provenance/v1"
        identity {
          issuer         = "https://token.actions.githubusercontent.com"
          subject_regexp = "https://github.com/acme/.*"
          claims { source_repository_ref = "refs/heads/main" }
        }
        builder_id_regexp = "https://github.com/acme/builder/.*@refs/tags/v.*"
        source_uri        = "git+https://github.com/acme/api@refs/heads/main"
        build_type        = "https://actions.github.io/buildtypes/workflow/v1"
      }
      attestation "reviewed" {
        predicate_type = "https://example.com/review/v1"
        key            = "builder"
      }
    `);
    expect(config.signatures.attestations).toEqual([
      {
        name: 'slsa-build',
        predicateType: 'https://slsa.dev/provenance/v1',
        identity: {
          issuer: 'https://token.actions.githubusercontent.com',
          subjectRegexp: 'https://github.com/acme/.*',
          claims: { source_repository_ref: 'refs/heads/main' },
        },
        builderIdRegexp: 'https://github.com/acme/builder/.*@refs/tags/v.*',
        sourceUri: 'git+https://github.com/acme/api@refs/heads/main',
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      },
      { name: 'reviewed', predicateType: 'https://example.com/review/v1', key: 'builder' },
    ]);
    expect(config.signatures.identities).toEqual([]);
    expect(config.signatures.policy).toMatchObject({ allowKeyless: true, wantsSignatures: true, keyNames: ['builder'] });
    expect(config.signatures.policy.attestations.map((a) => a.name)).toEqual(['slsa-build', 'reviewed']);
  });

  it('an attestation-only policy with a keyless identity looks for no signatures', () => {
    const config = buildConfig('attestation "a" {\n predicate_type = "https://slsa.dev/provenance/v1"\n identity {\n issuer = "i"\n subject = "s"\n }\n}');
    expect(config.signatures.policy).toMatchObject({ wantsSignatures: false, allowKeyless: true });
  });

  it.each([
    ['no predicate type', 'attestation "a" { key = "builder" }', 'attestation["a"].predicate_type: is required'],
    [
      'the cosign signature predicate',
      'attestation "a" {\n predicate_type = "https://sigstore.dev/cosign/sign/v1"\n key = "builder"\n}',
      'is the cosign signature predicate: signatures are matched by identity { } and key { } blocks',
    ],
    ['no signer', 'attestation "a" { predicate_type = "https://x/v1" }', 'attestation["a"]: needs exactly one signer'],
    [
      'two signers',
      'attestation "a" {\n predicate_type = "https://x/v1"\n key = "builder"\n identity {\n issuer = "i"\n subject = "s"\n }\n}',
      'attestation["a"]: needs exactly one signer',
    ],
    [
      'an unknown key',
      'attestation "a" {\n predicate_type = "https://x/v1"\n key = "nope"\n}',
      'attestation["a"].key: names no key { } block (configured: "builder")',
    ],
    [
      'a SLSA requirement on another type',
      'attestation "a" {\n predicate_type = "https://x/v1"\n key = "builder"\n builder_id = "b"\n}',
      'attestation["a"].builder_id: is a SLSA provenance requirement',
    ],
    [
      'both forms of a requirement',
      'attestation "a" {\n predicate_type = "https://slsa.dev/provenance/v1"\n key = "builder"\n source_uri = "s"\n source_uri_regexp = "s.*"\n}',
      'attestation["a"]: needs at most one of source_uri or source_uri_regexp',
    ],
    [
      'a broken requirement regexp',
      'attestation "a" {\n predicate_type = "https://slsa.dev/provenance/v1"\n key = "builder"\n build_type_regexp = "("\n}',
      'attestation["a"].build_type_regexp: "(" is not a valid regular expression',
    ],
    [
      'an identity with a name',
      'attestation "a" {\n predicate_type = "https://x/v1"\n identity {\n name = "n"\n issuer = "i"\n subject = "s"\n }\n}',
      'attestation["a"].identity.name: is not used here',
    ],
    [
      'an incomplete identity',
      'attestation "a" {\n predicate_type = "https://x/v1"\n identity { issuer = "i" }\n}',
      'attestation["a"].identity: needs exactly one of subject or subject_regexp',
    ],
    ['an unknown key inside', 'attestation "a" {\n predicate_type = "https://x/v1"\n key = "builder"\n builder = "b"\n}', 'builder: unknown configuration key'],
    [
      'two rules with one name',
      'attestation "a" {\n predicate_type = "https://x/v1"\n key = "builder"\n}\nattestation "a" {\n predicate_type = "https://y/v1"\n key = "builder"\n}',
      'attestation: name "a" is used twice',
    ],
  ])('rejects %s', (_name, text, message) => {
    const err = errorOf(() => buildConfig(`${KEY}${text}`));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(message);
  });
});

describe('trust settings', () => {
  const POLICY = TEST_POLICY.replace('offline = true\n', '');

  it('with none: the public-good root, refreshed from the public-good TUF repository into /var/lib', () => {
    expect(buildConfig(POLICY).signatures.trustRoots).toEqual([
      {
        name: 'public-good',
        start: { kind: 'embedded' },
        tuf: {
          mirrorUrl: 'https://tuf-repo-cdn.sigstore.dev',
          cacheDir: '/var/lib/spire-sigstore-attestor/tuf',
          rootFile: undefined,
          intervalMs: 86_400_000,
          timeoutMs: 30_000,
        },
        refresh: true,
        requirements: 'policy',
        label: '',
      },
    ]);
  });

  it('offline = true: no TUF at all', () => {
    expect(buildConfig(`offline = true\n${POLICY}`).signatures.trustRoots).toEqual([
      { name: 'public-good', start: { kind: 'embedded' }, tuf: undefined, refresh: false, requirements: 'policy', label: '' },
    ]);
    expect(errorOf(() => buildConfig(`offline = "yes"\n${POLICY}`)).message).toContain('offline: must be true or false');
  });

  it('tuf { } tunes the refresh of the one root; offline keeps its verified cache only', () => {
    const tuf = 'tuf {\n cache_dir = "/srv/tuf"\n refresh_interval_s = 3600\n}\n';
    expect(buildConfig(`${tuf}${POLICY}`).signatures.trustRoots).toMatchObject([
      {
        name: 'default',
        start: { kind: 'embedded' },
        tuf: { mirrorUrl: 'https://tuf-repo-cdn.sigstore.dev', cacheDir: '/srv/tuf', intervalMs: 3_600_000 },
        refresh: true,
      },
    ]);
    expect(buildConfig(`offline = true\n${tuf}${POLICY}`).signatures.trustRoots).toMatchObject([{ tuf: { cacheDir: '/srv/tuf' }, refresh: false }]);
  });

  it('names the one root in rules: "public-good" by default, "default" for trusted_root_file and tuf { }', () => {
    const rule = (roots: string): string => `identity {\n issuer = "i"\n subject = "s"\n trusted_roots = ["${roots}"]\n}\n`;
    expect(() => buildConfig(`offline = true\n${rule('public-good')}`)).not.toThrow();
    expect(() => buildConfig(`trusted_root_file = "/r.json"\n${rule('default')}`)).not.toThrow();
    expect(errorOf(() => buildConfig(`trusted_root_file = "/r.json"\n${rule('public-good')}`)).message).toContain(
      'identity[0].trusted_roots: "public-good" is not a configured trusted root (configured: default)',
    );
  });
});

describe('ConfigReader blocks', () => {
  it('reads named identity rules and signer_selectors; names are unique, and required for "named"', () => {
    const named = buildConfig('signer_selectors = "named"\nidentity {\n name = "release"\n issuer = "i"\n subject = "s"\n}\n');
    expect(named.signatures.signerSelectors).toBe('named');
    expect(named.signatures.identities[0]?.name).toBe('release');
    const twice = 'identity {\n name = "r"\n issuer = "i"\n subject = "s"\n}\nidentity {\n name = "r"\n issuer = "i"\n subject = "t"\n}\n';
    expect(errorOf(() => buildConfig(twice)).message).toContain('identity: name "r" is used twice');
    expect(errorOf(() => buildConfig(`signer_selectors = "named"\n${TEST_POLICY}`)).message).toContain('identity[0]: needs a name');
    expect(errorOf(() => buildConfig(`signer_selectors = "some"\n${TEST_POLICY}`)).message).toContain('signer_selectors: must be one of all, named');
    expect(errorOf(() => buildConfig('identity {\n name = ""\n issuer = "i"\n subject = "s"\n}\n')).message).toContain('name: must not be empty');
  });

  it('walks repeated and labelled blocks with key paths in messages', () => {
    const problems: string[] = [];
    const root = new ConfigReader(parseHcl('key { name = "a" }\nkey { name = 1 }\nregistry "ghcr.io" { ca_file = true\n extra = 1 }'), '', problems);
    const keys = root.blocks('key').map((k) => k.string('name'));
    const registries = root.labeledBlocks('registry');
    for (const { reader } of registries) {
      reader.string('ca_file');
      reader.finish();
    }
    root.finish();
    expect(keys).toEqual(['a', undefined]);
    expect(registries.map((r) => r.label)).toEqual(['ghcr.io']);
    expect(problems).toEqual([
      'key[1].name: must be a string, got number 1',
      'registry["ghcr.io"].ca_file: must be a string, got boolean true',
      'registry["ghcr.io"].extra: unknown configuration key',
    ]);
  });
});
