// @ts-check
/**
 * ESLint (flat config): JavaScript and typescript-eslint recommendations, Vue's for .vue files.
 * Import cycles are dependency-cruiser's part of `npm run lint` (.dependency-cruiser.mjs), and
 * formatting is Prettier's (eslint-config-prettier turns the overlapping rules off).
 */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import vue from 'eslint-plugin-vue';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'client/dist/', 'data/', 'test-artifacts/', '.ci/cache/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  vue.configs['flat/recommended'],
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
  },
  { files: ['client/src/**'], languageOptions: { globals: globals.browser } },
  { ignores: ['client/src/**'], languageOptions: { globals: globals.node } },
  {
    rules: {
      // Unused arguments are named _like_this where a signature needs them.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `[value, offset] = read(…)` keeps `let` when one of the pair changes later.
      'prefer-const': ['error', { destructuring: 'all' }],
    },
  },
  {
    // A CommonJS file (mocha's configuration in .ci) imports with require.
    files: ['**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The conformance tests handle documents of any shape, as the driver returns them.
    files: ['test/db/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // A field kind's component is named by the kind's key (string.vue, rating.vue): the registry finds it by its file name.
    files: ['client/src/field-kinds/*.vue'],
    rules: { 'vue/multi-word-component-names': 'off' },
  },
  {
    // Scripts run by mongosh inside the MongoDB containers.
    files: ['deploy/mongo/**'],
    languageOptions: { globals: { rs: 'readonly', db: 'readonly', print: 'readonly', connect: 'readonly', sleep: 'readonly' } },
  },
  prettier,
);
