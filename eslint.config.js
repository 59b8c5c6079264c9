// Lint: typescript-eslint's type-aware rules for promises and unsafe types,
// and the layering of src/ as import rules (README "Layout"): each folder
// may import only folders below it in the data flow
//   main -> plugin/, cli/ -> app/ -> config/ -> attest/ -> signatures/
//        -> registry/, runtime/ -> verify/, policy/, selectors/, process/ -> util/
// and src/plugin/ (the go-plugin + SPIRE protocol) is imported by main only
// (it may use util/ like everyone).
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const ALL = ['plugin', 'cli', 'app', 'config', 'attest', 'signatures', 'registry', 'runtime', 'verify', 'policy', 'selectors', 'process', 'util'];

// folder -> the folders it must not import.
const FORBIDDEN = {
  plugin: ['cli', 'app', 'config', 'attest', 'signatures', 'registry', 'runtime', 'verify', 'policy', 'selectors', 'process'],
  cli: ['plugin'],
  app: ['plugin', 'cli'],
  config: ['plugin', 'cli', 'app'],
  attest: ['plugin', 'cli', 'app', 'config'],
  signatures: ['plugin', 'cli', 'app', 'config', 'attest', 'runtime'],
  registry: ['plugin', 'cli', 'app', 'config', 'attest', 'signatures', 'runtime', 'verify', 'policy', 'selectors', 'process'],
  runtime: ['plugin', 'cli', 'app', 'config', 'attest', 'signatures', 'registry', 'verify', 'policy', 'selectors', 'process'],
  verify: ['plugin', 'cli', 'app', 'config', 'attest', 'signatures', 'registry', 'runtime', 'policy', 'selectors', 'process'],
  policy: ['plugin', 'cli', 'app', 'config', 'attest', 'signatures', 'registry', 'runtime', 'selectors', 'process'],
  selectors: ['plugin', 'cli', 'app', 'config', 'attest', 'signatures', 'registry', 'runtime', 'verify', 'policy', 'process'],
  process: ['plugin', 'cli', 'app', 'config', 'attest', 'signatures', 'registry', 'runtime', 'verify', 'policy', 'selectors'],
  util: ALL.filter((f) => f !== 'util'),
};

// Files of src/<folder>/ and of its subfolders (one level: src/<folder>/<sub>/):
// `up` is the way from the file to src/.
const layering = Object.entries(FORBIDDEN).flatMap(([folder, forbidden]) =>
  [
    { files: [`src/${folder}/*.ts`], up: '../' },
    { files: [`src/${folder}/*/**/*.ts`], up: '../../' },
  ].map(({ files, up }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbidden.flatMap((f) => [`${up}${f}/*`, `${up}${f}`]),
              message: `src/${folder}/ may not import this folder: imports run down the data flow only (eslint.config.js).`,
            },
            {
              group: [`${up}*.js`, `!${up}errors.js`, `!${up}log.js`],
              message: 'below main, only errors.js and log.js are shared from src/.',
            },
          ],
        },
      ],
    },
  })),
);

export default tseslint.config(
  { ignores: ['dist/', 'dist-sea/', 'dist-bench/', 'coverage/', 'node_modules/', '.compile-cache/', 'bench/results/', 'proto/generated/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json', './bench/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // An async function without await still keeps the Promise contract of
      // the interface it implements.
      '@typescript-eslint/require-await': 'off',
      // Passing on a rejection as it came (unknown) is not inventing one.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Input validation here rejects control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // vitest's asymmetric matchers (expect.any, objectContaining) are typed any.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  ...layering,
);
