import t from '../helpers/tap.js';
import { once } from 'node:events';
import WebSocket from 'ws';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import { toErrorBody } from '../../server/plugins/errors.js';
import { isUnavailableError } from '../../server/platform/errors.js';
import { Sweeper, type SweepTask } from '../../workers/maintenance.worker.js';
import { workerContextOf } from '../../workers/in-process.js';
import { createTestEnv } from '../helpers/app.js';
import { call, errorOf } from '../helpers/http.js';
import { startTcpProxy } from '../helpers/processes.js';
import { createUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { courseWithLessons } from '../realtime/fixtures.js';
import { client, connect, listen, request, socketPool } from '../realtime/socket-helpers.js';

// The app reaches the test's database through a proxy that the test can stop or freeze; the
// shared PostgreSQL itself is never touched.
const env = await createTestEnv(t, 'pg-faults');
const target = new URL(env.config.databaseUrl);
const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
t.teardown(() => proxy.close());
const viaProxy = new URL(env.config.databaseUrl);
viaProxy.port = String(proxy.port);
const STATEMENT_TIMEOUT_MS = 1000;
const ACQUIRE_TIMEOUT_MS = 1000;
const config = loadConfig({
  ...env.env,
  DATABASE_URL: viaProxy.toString(),
  DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
  DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS),
});
const app = await buildApp(config);
env.defer(() => app.close());
const url = await listen(app);
const sockets = socketPool();
env.defer(() => sockets.closeAll());

const owner = await createUser(app, 'instructor');
const student = await createUser(app, 'student');
const { course, lessons } = await courseWithLessons(app, owner, [student]);
const socket = sockets.add(client(url, student.token));
await connect(socket);

/** `GET /api/courses/:slug` with how long it took; never waits more than 15 s. */
async function getCourse() {
  const started = performance.now();
  const res = await Promise.race([
    call(app, 'GET', `/api/courses/${course.slug}`),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 15 s')), 15_000)),
  ]);
  return { ...res, ms: Math.round(performance.now() - started) };
}

/** What the process writes to the console around the logger (logs must all be JSON through pino). */
const consoleLines: string[] = [];
for (const method of ['log', 'warn', 'error'] as const) {
  const original = console[method];
  console[method] = (...args: unknown[]) => {
    consoleLines.push(args.map(String).join(' '));
    original.apply(console, args);
  };
  t.teardown(() => void (console[method] = original));
}

t.test('PostgreSQL down: 503 UNAVAILABLE with Retry-After, over HTTP and in socket acks; then recovery', async (t) => {
  t.equal((await getCourse()).status, 200);
  await proxy.down();

  const res = await getCourse();
  t.equal(res.status, 503, JSON.stringify(res.body));
  t.equal(errorOf(res, 503).code, 'UNAVAILABLE');
  t.match(res.headers['retry-after'], /^\d+$/, 'Retry-After in seconds');
  t.ok(res.ms < ACQUIRE_TIMEOUT_MS + 2000, `answered in ${res.ms} ms`);

  const ack = await request(socket, 'lesson:progress', { lessonId: lessons[0].id, timeSpentSecondsDelta: 5 });
  t.match(ack, { ok: false, error: { code: 'UNAVAILABLE' } }, 'the socket ack says UNAVAILABLE');

  const refused = await connect(sockets.add(client(url, student.token))).then(
    () => null,
    (error: Error & { data?: { code?: string } }) => error,
  );
  t.match(refused, { message: 'unavailable', data: { code: 'UNAVAILABLE' } }, 'a new socket gets connect_error "unavailable"');

  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${encodeURIComponent(student.token)}`);
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  t.same([code, String(reason)], [1013, 'unavailable'], '/ws closes with "try again later", not as unauthorized');

  const ready = await call(app, 'GET', '/ready');
  t.equal(ready.status, 503, '/ready says so too');

  await proxy.resume();
  await waitFor('the course to be served again', async () => (await getCourse()).status === 200, 15_000, 200);
  const again = await request(socket, 'lesson:progress', { lessonId: lessons[0].id, timeSpentSecondsDelta: 5 });
  t.match(again, { ok: true }, 'socket events work again');
  t.same(consoleLines, [], 'the driver logged nothing around the logger');
});

t.test('PostgreSQL frozen: requests fail with 503 within the statement timeout instead of hanging; then recovery', async (t) => {
  t.equal((await getCourse()).status, 200);
  proxy.freeze();

  const res = await getCourse();
  t.equal(res.status, 503, JSON.stringify(res.body));
  t.equal(errorOf(res, 503).code, 'UNAVAILABLE');
  t.ok(res.headers['retry-after']);
  t.ok(res.ms < STATEMENT_TIMEOUT_MS + ACQUIRE_TIMEOUT_MS + 2000, `answered in ${res.ms} ms`);

  // A new connection meets the frozen server too (the pool replaces the busy one).
  const second = await getCourse();
  t.equal(second.status, 503);
  t.ok(second.ms < STATEMENT_TIMEOUT_MS + ACQUIRE_TIMEOUT_MS + 2000, `answered in ${second.ms} ms`);

  await proxy.resume();
  await waitFor('the course to be served again', async () => (await getCourse()).status === 200, 15_000, 200);
  t.pass('served again after the freeze');
});

t.test('the sweep runs again within about two seconds of PostgreSQL coming back', async (t) => {
  const runs: number[] = [];
  const task: SweepTask = { name: 'probe', run: async () => runs.push(Date.now()) };
  const ctx = workerContextOf(app);
  const sweeper = new Sweeper(ctx, { intervalMs: 600_000, retryMs: 1000, tasks: [task] });
  env.defer(() => sweeper.close());
  await proxy.down();
  sweeper.start();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  t.same(runs, [], 'no sweep while PostgreSQL is away');
  await proxy.resume();
  const back = Date.now();
  await waitFor('a sweep', () => runs.length > 0, 10_000);
  t.ok(runs[0]! - back < ACQUIRE_TIMEOUT_MS + 1000 + 500, `swept ${runs[0]! - back} ms after PostgreSQL returned`);
  await sweeper.close();
});

t.test('which errors mean "a dependency cannot be reached"', async (t) => {
  const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  for (const error of [
    withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
    withCode('ECONNRESET'),
    withCode('57P01', 'terminating connection due to administrator command'),
    withCode('57P03', 'the database system is starting up'),
    withCode('53300', 'sorry, too many clients already'),
    withCode('08006'),
    new Error('Connection terminated unexpectedly'),
    new Error('Query read timeout'),
    Object.assign(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'), { name: 'KnexTimeoutError' }),
    withCode('57014', 'canceling statement due to statement timeout'),
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    new Error('Command timed out'),
    Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' }),
  ]) {
    t.ok(isUnavailableError(error), error.message);
    t.match(toErrorBody(error), { statusCode: 503, code: 'UNAVAILABLE' });
  }
  for (const error of [
    new Error('boom'),
    withCode('23505', 'duplicate key'),
    withCode('42601', 'syntax error'),
    withCode('57014', 'canceling statement due to user request'),
  ]) {
    t.notOk(isUnavailableError(error), error.message);
  }
});
