// ESLint (flat config) with typescript-eslint. Type-aware rules run on the application code
// (server, workers, entities, migrations); tests, benchmarks and scripts get the syntactic rules
// only, which keeps `npm run lint` fast. Import boundaries are dependency-cruiser's job
// (.dependency-cruiser.cjs); formatting is Prettier's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const typed = ['server/**/*.ts', 'workers/**/*.ts', 'entities/**/*.ts', 'migrations/**/*.ts', 'web/src/**/*.ts', 'web/src/**/*.tsx'];

/** docs/data-access.md: raw SQL only in a component's `*.queries.ts` or in `server/platform/db/`. */
const rawSqlOutsideQueries = {
  selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='execute']",
  message: 'Raw SQL (`.execute(`) belongs in a `*.queries.ts` module or server/platform/db/ (docs/data-access.md).',
};

/**
 * Tests read JSON replies through a schema or a named type (test/helpers/http.ts: `bodyOf`,
 * `errorOf`, `replyOf`), never through a bare `.json()`, which types the body `any`.
 */
const untypedJson = [
  {
    selector:
      "CallExpression[callee.property.name='json'][arguments.length=0]:not([typeArguments]):not(TSAsExpression[typeAnnotation.type='TSUnknownKeyword'] > CallExpression)",
    message: "A bare `.json()` is `any`: read the reply with bodyOf/errorOf (test/helpers/http.ts) and the route's response schema.",
  },
  {
    selector: "CallExpression[callee.property.name='json'][typeArguments.params.0.type='TSAnyKeyword']",
    message: "`.json<any>()` is a bare `.json()`: read the reply with bodyOf/errorOf (test/helpers/http.ts) and the route's response schema.",
  },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'coverage/', '.tap/', 'storage/', 'web/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      'no-restricted-syntax': ['error', rawSqlOutsideQueries],
    },
  },
  {
    files: typed,
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Fastify hooks, Socket.IO listeners and timers take async callbacks by design.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The web app (its own tsconfig, web/tsconfig.json, with the DOM types): TSX included.
    files: ['web/src/**/*.tsx'],
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  {
    // Where SQL may be written, and code that is not application code.
    files: ['**/*.queries.ts', 'server/platform/db/**', 'test/**', 'bench/**', 'scripts/**', 'migrations/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['test/**'],
    rules: {
      'no-restricted-syntax': ['error', ...untypedJson],
      // A test file's `t` is the one of test/helpers/tap.ts: the file's own subtest when its group
      // runs it (test/groups/groups.ts), tap's root test when it runs alone.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'tap',
              importNames: ['default'],
              message: "Import `t` from test/helpers/tap.ts: tap's root test is not the file's own when its group runs it.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/helpers/tap.ts', 'test/groups/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
