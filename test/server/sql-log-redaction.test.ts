import t from '../helpers/tap.js';
import pg from 'pg';
import { io } from 'socket.io-client';
import { createTestEnv } from '../helpers/app.js';
import { spawnEntry, type Spawned } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { createQueueRedis, closeRedis } from '../../server/platform/redis.js';
import { Queues } from '../../server/platform/queues/queues.js';

// MikroORM (and knex under it) write every parameter into the SQL of a failed query's error
// message, and PostgreSQL's `detail` echoes the row: a failed user insert would log the email and
// the password hash. The real server and the real worker process, logging as in production,
// must keep the statement and drop the values on every path that logs a query error: the HTTP
// error handler, socket acks and failed jobs.
const env = await createTestEnv(t, 'sql-log-redaction', { LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1' });
const server = spawnEntry('server/main.ts', env.env);
const worker = spawnEntry('workers/main.ts', env.env);
for (const process of [server, worker]) {
  env.defer(async () => {
    if (process.child.exitCode === null) {
      process.child.kill('SIGTERM');
      await process.exited;
    }
  });
}

const db = new pg.Client({ connectionString: env.config.databaseUrl });
await db.connect();
env.defer(() => db.end());

async function listeningUrl(): Promise<string> {
  return waitFor(`the server to listen:\n${server.output()}`, () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output())?.[1], 30_000, 100);
}

/** The JSON log lines of `process` whose `msg` is `message`. */
function logLines(process: Spawned, message: string): Array<Record<string, any>> {
  return process
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>)
    .filter((line) => line.msg === message);
}

const base = await listeningUrl();
await waitFor(`the worker to start:\n${worker.output()}`, () => worker.output().includes('workers started'), 30_000, 100);

async function api(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

await db.query(`CREATE FUNCTION fail_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by a test trigger'; END $$`);

t.test('a failed user insert (HTTP, error handler) logs the statement without the email or the password hash', async (t) => {
  await db.query(`CREATE TRIGGER users_fail BEFORE INSERT ON users FOR EACH ROW WHEN (NEW.full_name = 'Trigger Failure') EXECUTE FUNCTION fail_for_test()`);
  const email = 'leak-canary-7f3a@example.com';
  const res = await api('POST', '/api/auth/register', { email, password: 'Canary-Passw0rd-91', fullName: 'Trigger Failure' });
  t.equal(res.status, 500);
  t.equal(res.body.code, 'INTERNAL_ERROR');
  const [line] = await waitFor('the error line', () => logLines(server, 'unhandled error').length > 0 && logLines(server, 'unhandled error'));
  t.match(line!.err.message, /insert into "users" .* values \(.*\$1.*\) .*refused by a test trigger/s, 'the statement is there, with placeholders');
  t.equal(line!.err.code, 'P0001', 'and the SQLSTATE');
  t.equal(line!.err.type, 'DriverException', 'and the error class');
  const output = server.output();
  for (const secret of [email, '$argon2id$', 'Canary-Passw0rd-91', 'Trigger Failure']) t.notOk(output.includes(secret), `${secret} is not in the log`);
});

t.test('socket acks and failed jobs log query errors without values', async (t) => {
  const owner = await api('POST', '/api/auth/register', { email: 'owner-sql@example.com', password: 'password-123', fullName: 'Owner' });
  await db.query(`UPDATE users SET role = 'instructor' WHERE id = $1`, [owner.body.user.id]);
  const instructor = await api('POST', '/api/auth/login', { email: 'owner-sql@example.com', password: 'password-123' });
  const course = await api('POST', '/api/courses', { title: 'Logs', isPublished: true }, instructor.body.accessToken);
  const lesson = await api('POST', `/api/courses/${course.body.id}/lessons`, { title: 'One' }, instructor.body.accessToken);
  const student = await api('POST', '/api/auth/register', { email: 'student-sql@example.com', password: 'password-123', fullName: 'Student' });
  const enrollment = await api('POST', `/api/courses/${course.body.id}/enroll`, undefined, student.body.accessToken);
  t.equal(enrollment.status, 201);

  // Socket ack: the lesson progress insert fails.
  await db.query(`CREATE TRIGGER progress_fail BEFORE INSERT ON lesson_progress FOR EACH ROW EXECUTE FUNCTION fail_for_test()`);
  const socket = io(base, { auth: { token: student.body.accessToken }, transports: ['websocket'], forceNew: true, reconnection: false });
  t.teardown(() => void socket.disconnect());
  const ack = await socket.timeout(5000).emitWithAck('lesson:progress', { lessonId: lesson.body.id, completionPercentage: 37.25 });
  t.match(ack, { ok: false, error: { code: 'INTERNAL_ERROR' } });
  const [failed] = await waitFor('the ack error line', () => logLines(server, 'client event failed').length > 0 && logLines(server, 'client event failed'));
  t.match(failed!.err.message, /insert into lesson_progress .*refused by a test trigger/is);
  t.notOk(server.output().includes(lesson.body.id), 'the lesson id (a parameter) is in no line');
  t.notOk(server.output().includes('37.25'), 'nor the percentage');

  // Failed job: the worker's recalculation (which writes only when the counts changed) cannot
  // update the enrollment.
  await db.query(`UPDATE enrollments SET total_lessons_count = 99 WHERE id = $1`, [enrollment.body.id]);
  await db.query(`CREATE TRIGGER enrollments_fail BEFORE UPDATE ON enrollments FOR EACH ROW EXECUTE FUNCTION fail_for_test()`);
  const connection = createQueueRedis(env.config);
  const queues = new Queues(env.config, connection);
  t.teardown(async () => {
    await queues.close();
    await closeRedis(connection);
  });
  const job = await queues.add('progress', { enrollmentId: enrollment.body.id });
  const [jobFailed] = await waitFor('the job failure line', () => logLines(worker, 'job failed').length > 0 && logLines(worker, 'job failed'), 15_000);
  t.match(jobFailed!.err.message, /refused by a test trigger/);
  t.notOk(JSON.stringify(jobFailed!.err).includes(enrollment.body.id), 'the enrollment id (a parameter) is not in the error');
  const stored = await queues.get('progress').getJob(job.id!);
  t.notOk(stored?.failedReason?.includes(enrollment.body.id), 'nor in the failure BullMQ keeps in Redis');
  t.notOk((stored?.stacktrace ?? []).join('\n').includes(enrollment.body.id));
});
