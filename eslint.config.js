// Lint rules for the TypeScript runner, its tests and benchmarks: the recommended sets
// of ESLint and typescript-eslint, plus the few rules that catch what review kept finding.
// Formatting is Prettier's job (npm run format), not the linter's.

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      '.deploy/',
      'bench/results/',
      'packer/',
      'service/',
      'docker/',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // The runner's output goes through the reporter (TTY, CI and --json from one stream),
    // never console; benchmarks and test diagnostics may print.
    files: ['pipeline/**/*.ts', 'bin/*.js'],
    rules: { 'no-console': 'error' },
  },
  {
    // The executable is plain JavaScript (it starts before anything is compiled) run by Node.
    files: ['bin/*.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);
