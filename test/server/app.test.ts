import t from '../helpers/tap.js';
import type { InjectOptions } from 'fastify';
import { Type } from 'typebox';
import { buildTestApp } from '../helpers/app.js';
import { bodyOf, call, errorOf, replyOf } from '../helpers/http.js';
import { OpenApiDocument } from '../helpers/openapi.js';
import { AppError, type ErrorCode } from '../../server/platform/errors.js';
import { HealthResponse, ReadyResponse } from '../../server/plugins/health.js';

const { app } = await buildTestApp(
  t,
  'app',
  { CORS_ORIGINS: 'https://app.example.com' },
  {
    extend(app) {
      // Probe routes exercising the shared request pipeline (parsing, validation, errors).
      app.post(
        '/probe/:id',
        {
          schema: {
            params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
            body: Type.Object({ name: Type.String({ maxLength: 20 }), flag: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
          },
        },
        async (request) => ({ id: request.params.id, ...request.body }),
      );
      app.get('/probe/boom', async () => {
        throw new Error('secret internal detail');
      });
      app.get('/probe/conflict', async () => {
        throw new AppError('CONFLICT', 'already there');
      });
    },
  },
);

const id = '0b6f8a4e-1c4e-4a57-9d1e-2f1b8f0c9a11';

t.test('/health and /ready answer 200', async (t) => {
  t.equal(bodyOf(await call(app, 'GET', '/health'), 200, HealthResponse).status, 'ok');
  t.match(bodyOf(await call(app, 'GET', '/ready'), 200, ReadyResponse), { status: 'ready', checks: { postgres: { ok: true }, redis: { ok: true } } });
});

t.test('/docs/json serves the OpenAPI document and /docs the browser', async (t) => {
  const body = bodyOf(await call(app, 'GET', '/docs/json'), 200, OpenApiDocument);
  t.equal(body.openapi, '3.1.0');
  t.ok(body.paths['/health']);
  t.ok(body.paths['/ready']);
  t.ok(body.components.securitySchemes?.bearerAuth);
  const ui = await app.inject({ method: 'GET', url: '/docs' });
  t.ok([200, 302].includes(ui.statusCode), `docs ui answered ${ui.statusCode}`);
});

t.test('/metrics exposes Prometheus text', async (t) => {
  await app.inject({ method: 'GET', url: '/health' });
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/plain/);
  t.match(res.body, /http_request_duration_seconds_count\{method="GET",route="\/health",status_code="200"\}/);
  t.match(res.body, /process_cpu_user_seconds_total/);
});

t.test('a valid request passes and carries a request id', async (t) => {
  const res = await app.inject({ method: 'POST', url: `/probe/${id}`, payload: { name: 'ok', flag: true }, headers: { 'x-request-id': 'abc-123' } });
  t.equal(res.statusCode, 200);
  t.same(replyOf(res).body, { id, name: 'ok', flag: true });
  t.equal(res.headers['x-request-id'], 'abc-123');
});

const malformed: Array<{ name: string; status: number; code: ErrorCode; request: InjectOptions }> = [
  {
    name: 'bad JSON',
    status: 400,
    code: 'VALIDATION_ERROR',
    request: { method: 'POST', url: `/probe/${id}`, headers: { 'content-type': 'application/json' }, payload: '{"name": ' },
  },
  {
    name: 'empty JSON body',
    status: 400,
    code: 'VALIDATION_ERROR',
    request: { method: 'POST', url: `/probe/${id}`, headers: { 'content-type': 'application/json' }, payload: '' },
  },
  {
    name: 'wrong content type',
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    request: { method: 'POST', url: `/probe/${id}`, headers: { 'content-type': 'application/xml' }, payload: '<name>x</name>' },
  },
  {
    name: '__proto__ key',
    status: 400,
    code: 'VALIDATION_ERROR',
    request: { method: 'POST', url: `/probe/${id}`, headers: { 'content-type': 'application/json' }, payload: '{"name":"x","__proto__":{"admin":true}}' },
  },
  {
    name: 'constructor.prototype key',
    status: 400,
    code: 'VALIDATION_ERROR',
    request: {
      method: 'POST',
      url: `/probe/${id}`,
      headers: { 'content-type': 'application/json' },
      payload: '{"name":"x","constructor":{"prototype":{"admin":true}}}',
    },
  },
  { name: 'unknown field', status: 400, code: 'VALIDATION_ERROR', request: { method: 'POST', url: `/probe/${id}`, payload: { name: 'x', role: 'admin' } } },
  {
    name: 'string where a boolean is expected',
    status: 400,
    code: 'VALIDATION_ERROR',
    request: { method: 'POST', url: `/probe/${id}`, payload: { name: 'x', flag: 'true' } },
  },
  { name: 'missing field', status: 400, code: 'VALIDATION_ERROR', request: { method: 'POST', url: `/probe/${id}`, payload: {} } },
  { name: 'non-UUID id', status: 400, code: 'VALIDATION_ERROR', request: { method: 'POST', url: '/probe/not-a-uuid', payload: { name: 'x' } } },
  {
    name: 'oversize body',
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    request: { method: 'POST', url: `/probe/${id}`, payload: { name: 'x'.repeat(2 * 1024 * 1024) } },
  },
  { name: 'unknown route', status: 404, code: 'NOT_FOUND', request: { method: 'GET', url: '/nope' } },
  { name: 'domain error', status: 409, code: 'CONFLICT', request: { method: 'GET', url: '/probe/conflict' } },
];

for (const { name, status, code, request } of malformed) {
  t.test(`${name} → ${status} ${code}`, async (t) => {
    const res = replyOf(await app.inject(request));
    t.equal(res.status, status);
    const body = errorOf(res, status);
    t.equal(body.code, code);
    t.equal(body.statusCode, status);
    t.type(body.error, 'string');
    t.type(body.message, 'string');
  });
}

t.test('an unexpected error is masked as 500 with the request id', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/probe/boom' });
  const body = errorOf(replyOf(res), 500);
  t.equal(body.code, 'INTERNAL_ERROR');
  t.notMatch(body.message, /secret internal detail/);
  t.match(body.message, res.headers['x-request-id'] as string);
});

t.test('security headers and the CORS allow-list', async (t) => {
  const allowed = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://app.example.com' } });
  t.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(allowed.headers['x-content-type-options'], 'nosniff');
  t.ok(allowed.headers['strict-transport-security']);
  const other = await app.inject({ method: 'GET', url: '/health', headers: { origin: 'https://evil.example.com' } });
  t.notOk(other.headers['access-control-allow-origin']);
});
