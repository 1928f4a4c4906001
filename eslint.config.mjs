// Lint rules the test command enforces (scripts/test.sh). Formatting is prettier's job
// (.prettierrc.json); these rules keep the habits prettier cannot: no import cycles, no
// unexplained `any`, and no line over 120 characters (prettier leaves long comments and strings).
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import stylistic from '@stylistic/eslint-plugin';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.venv/', 'build/', 'data/', 'docs/', 'notebooks/'] },
  tseslint.configs.recommended,
  comments.recommended,
  // Tells import-x how to parse TypeScript dependencies, which it must read to follow import chains.
  importX.flatConfigs.typescript,
  {
    files: ['**/*.{ts,js,mjs}'],
    plugins: { '@stylistic': stylistic },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      // Arrows point one way: lib/models must not reach lib/train, and no module may reach itself.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      // An `any` must say why: the only way past this rule is a disable comment with a reason.
      '@typescript-eslint/no-explicit-any': 'error',
      '@eslint-community/eslint-comments/require-description': ['error', { ignore: [] }],
      '@eslint-community/eslint-comments/no-unused-disable': 'error',
      '@stylistic/max-len': ['error', { code: 120, tabWidth: 2, ignoreUrls: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // CommonJS files: the kernel launcher and other Node scripts run as plain require()d code.
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
