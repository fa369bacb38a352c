// Import rules of docs/architecture.md ("Rules"), checked by `npm run deps` (part of `npm test`).
// Type-only imports count (tsPreCompilationDeps): a service that imports a Fastify type still
// depends on the transport.

const TRANSPORT =
  'node_modules/(fastify|fastify-plugin|@fastify/[^/]+|socket\\.io|socket\\.io-client|@socket\\.io/[^/]+|engine\\.io|bullmq|ioredis|ws|@types/ws)/';
const SERVICES = '^server/modules/[^/]+/[^/]+\\.(service|queries|access)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-server-to-workers',
      comment: 'Rule 1: server/ never imports workers/. `npm start` starts workers/thread.ts by path.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^workers/' },
    },
    {
      name: 'no-circular',
      comment: 'Rule 6: no import cycles (type-only imports included).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-transport-in-services',
      comment: 'Rule 3: services, queries, access modules and server/domain import no transport (Fastify, Socket.IO, BullMQ, ioredis, ws), not even its types.',
      severity: 'error',
      from: { path: [SERVICES, '^server/domain/'] },
      to: { path: TRANSPORT },
    },
    {
      name: 'no-plugins-or-realtime-in-services',
      comment: 'Services reach the transport only through ports (server/modules/deps.ts); from server/plugins they may import types only (e.g. AuthUser).',
      severity: 'error',
      from: { path: SERVICES },
      to: { path: '^server/(plugins|realtime)/|^server/(app|main)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'domain-is-pure',
      comment: 'server/domain imports only server/domain, entities/enums and Node built-ins.',
      severity: 'error',
      from: { path: '^server/domain/' },
      to: { pathNot: '^(server/domain/|entities/enums\\.ts$)', dependencyTypesNot: ['core'] },
    },
    {
      name: 'no-foreign-queries',
      comment: "Rule 4: a component never imports another component's *.queries.ts; it calls that component's service or access module.",
      severity: 'error',
      from: { path: '^server/modules/([^/]+)/' },
      to: { path: '^server/modules/[^/]+/.+\\.queries\\.ts$', pathNot: '^server/modules/$1/' },
    },
    {
      name: 'queries-only-in-their-component',
      comment: 'Rule 4: only the owning component imports its *.queries.ts (the realtime layer its own; not plugins or workers).',
      severity: 'error',
      from: { pathNot: '^server/(modules|realtime)/' },
      to: { path: '\\.queries\\.ts$' },
    },
    {
      name: 'realtime-queries-stay-in-realtime',
      comment: 'The realtime layer reads its own tables through realtime.queries.ts; components never import it.',
      severity: 'error',
      from: { path: '^server/modules/' },
      to: { path: '^server/realtime/realtime\\.queries\\.ts$' },
    },
    {
      name: 'adapters-only-from-wiring',
      comment: 'Rule 5: no file imports a *.routes.ts or *.socket.ts except the wiring, server/modules/index.ts.',
      severity: 'error',
      from: { pathNot: '^server/modules/index\\.ts$' },
      to: { path: '\\.(routes|socket)\\.ts$' },
    },
    {
      name: 'platform-is-below-modules',
      comment: 'server/platform and server/config hold technical building blocks: they import no component, realtime, plugin or app code.',
      severity: 'error',
      from: { path: '^server/(platform|config)/' },
      to: { path: '^server/(modules|realtime|plugins)/|^server/(app|main)\\.ts$' },
    },
    {
      name: 'web-imports-only-server-types',
      comment:
        'The web app (web/src) is a client of the public contract: it imports types only, and only from server/realtime/contract.ts and the route schemas.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^(server|workers|entities|migrations|scripts)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'web-reads-only-the-contract-and-schemas',
      comment: 'Of the server, the web app may name the realtime contract and the *.schemas.ts modules (what the API and the sockets send), nothing else.',
      severity: 'error',
      from: { path: '^web/' },
      to: {
        path: '^server/',
        pathNot: ['^server/realtime/contract[.]ts$', '^server/modules/[a-z.-]+[.]schemas[.]ts$', '^server/modules/[a-z-]+/[a-z.-]+[.]schemas[.]ts$'],
      },
    },
    {
      name: 'nothing-imports-the-web-app',
      comment: 'The server serves web/dist as files; no server, worker or test code imports web/src.',
      severity: 'error',
      from: { pathNot: '^web/' },
      to: { path: '^web/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that cannot be resolved is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.tsx', '.js', '.json'],
    },
    skipAnalysisNotInRules: true,
  },
};
