import t from '../helpers/tap.js';
import pg from 'pg';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';
import { bodyOf, call } from '../helpers/http.js';
import { spawnEntry } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { recordingPublisher } from '../helpers/publisher.js';
import { startWorkers } from '../../workers/runtime.js';
import { workerContextOf } from '../../workers/in-process.js';
import { RegradeAcceptedJson } from '../../server/modules/regrades/regrades.schemas.js';
import { updateQuestion } from '../../server/modules/quizzes/quizzes.service.js';
import { asAuth } from '../helpers/quizzes.js';
import { PATTERNS, wrongKeyQuiz, type Pattern } from '../modules/regrades/fixture.js';

const ATTEMPTS = 2000;
const BATCH = 100;

t.test('a regrade of 2,000 attempts whose worker is killed halfway: another worker finishes, each changed attempt regraded once', async (t) => {
  const { app, config, env, defer } = await buildTestApp(t, 'regrade-crash', {
    JOB_LOCK_MS: '1000',
    SWEEP_INTERVAL_MS: '600000',
    REGRADE_BATCH_SIZE: String(BATCH),
    LOG_LEVEL: 'info',
  });
  const owner = await createUser(app, 'instructor');
  const fixture = await wrongKeyQuiz(app, owner, []);
  const db = () => app.orm.em.fork().getConnection();

  // 2,000 students with one graded attempt each, written in bulk (grading 2,000 submits one by one
  // is not what is under test). No pattern makes anyone pass newly, so no certificate work competes.
  const plan: Pattern[] = ['nowFailing', 'unchanged', 'down', 'up'];
  const students = await db().execute<Array<{ id: string }>>(
    `INSERT INTO users (email, password_hash, full_name) SELECT 'crash-' || i || '@example.com', 'x', 'Student ' || i FROM generate_series(1, ?) i RETURNING id`,
    [ATTEMPTS],
  );
  const enrollments = await db().execute<Array<{ id: string }>>(
    `INSERT INTO enrollments (student_id, course_id) SELECT id, ? FROM users WHERE email LIKE 'crash-%' RETURNING id`,
    [fixture.course.id],
  );
  t.equal(enrollments.length, students.length);
  const keys = { tf: fixture.tf.id, mc: fixture.mc.id, sa: fixture.sa.id } as const;
  const order = [{ questionId: keys.tf }, { questionId: keys.mc, optionIds: ['a', 'b'] }, { questionId: keys.sa }];
  const rows = enrollments.map((enrollment, i) => {
    const pattern = PATTERNS[plan[i % plan.length]!];
    const answers = Object.fromEntries(Object.entries(pattern.answers).map(([key, answer]) => [keys[key as keyof typeof keys], answer]));
    const { score, percentage, isPassed } = pattern.before;
    return {
      enrollment_id: enrollment.id,
      answers,
      score,
      percentage,
      is_passed: isPassed,
      results: { score, maxScore: 4, percentage, isPassed, questions: [] },
    };
  });
  const inserted = await db().execute<Array<{ id: string; score: string }>>(
    `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, submitted_at, graded_at, answers, question_order, results, score, max_score, percentage, is_passed)
     SELECT r.enrollment_id, ?, 1, 'graded', now(), now(), now(), r.answers, ?::jsonb, r.results, r.score, 4, r.percentage, r.is_passed
       FROM jsonb_to_recordset(?::jsonb) AS r(enrollment_id uuid, answers jsonb, results jsonb, score numeric, percentage numeric, is_passed boolean)
     RETURNING id, score`,
    [fixture.quiz.id, JSON.stringify(order), JSON.stringify(rows)],
  );
  t.equal(inserted.length, ATTEMPTS);

  await updateQuestion(app.forkDeps(), asAuth(owner), fixture.tf.id, { correctAnswer: false });
  const { regradeId } = bodyOf(await call(app, 'POST', `/api/quizzes/${fixture.quiz.id}/regrade`, owner, { dryRun: false }), 202, RegradeAcceptedJson);
  const expectedChanged = ATTEMPTS * (3 / 4);

  // A row lock on the 1,001st attempt (id order) stops the worker at its eleventh batch: ten are committed.
  const locker = new pg.Client({ connectionString: config.databaseUrl });
  await locker.connect();
  defer(() => locker.end());
  await locker.query('BEGIN');
  // (Found first, then locked: rows an OFFSET skips would be locked too.)
  const [middle] = await db().execute<Array<{ id: string }>>('SELECT id FROM quiz_attempts WHERE quiz_id = ? ORDER BY id OFFSET ? LIMIT 1', [
    fixture.quiz.id,
    ATTEMPTS / 2,
  ]);
  await locker.query('SELECT id FROM quiz_attempts WHERE id = $1 FOR UPDATE', [middle!.id]);

  const started = Date.now();
  const first = spawnEntry('workers/main.ts', env);
  defer(() => first.child.kill('SIGKILL'));
  const progress = async () =>
    (
      await db().execute<Array<{ status: string; processed: number; changed: number; total: number }>>(
        'SELECT status, processed, changed, total FROM quiz_regrades WHERE id = ?',
        [regradeId],
      )
    )[0]!;
  await waitFor('the first worker to commit half the regrade', async () => (await progress()).processed === ATTEMPTS / 2, 90_000, 50).catch(
    async (error: unknown) => {
      t.comment(JSON.stringify(await progress()), first.output().slice(-3000));
      throw error;
    },
  );
  await waitFor('the first worker to block on the locked attempt', async () => {
    const [blocked] = await db().execute<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE OF a%'`,
    );
    return blocked!.n === 1;
  });
  t.comment(`the first worker regraded ${ATTEMPTS / 2} attempts and blocked after ${Date.now() - started} ms`);
  first.child.kill('SIGKILL');
  t.equal((await first.exited).signal, 'SIGKILL', 'the first worker died mid-regrade');
  const half = await progress();
  t.match(half, { status: 'running', processed: ATTEMPTS / 2, total: ATTEMPTS });
  const before = new Set(
    (await db().execute<Array<{ attempt_id: string }>>('SELECT attempt_id FROM attempt_regrades WHERE regrade_id = ?', [regradeId])).map(
      (row) => row.attempt_id,
    ),
  );
  t.equal(before.size, half.changed, 'a history row per changed attempt committed so far');

  // Another worker (in this process, so its events can be counted) takes the job over.
  const publisher = recordingPublisher();
  const runtime = await startWorkers(workerContextOf(app, { deps: () => ({ ...app.forkDeps(), publisher }) }), { only: ['regrades'] });
  defer(() => runtime.close());
  await locker.query('COMMIT');
  await waitFor('the second worker to finish the regrade', async () => (await progress()).status === 'done', 90_000, 50);

  t.match(await progress(), { status: 'done', processed: ATTEMPTS, total: ATTEMPTS, changed: expectedChanged });
  const history = await db().execute<Array<{ attempt_id: string; n: number }>>(
    'SELECT attempt_id, count(*)::int AS n FROM attempt_regrades WHERE regrade_id = ? GROUP BY attempt_id',
    [regradeId],
  );
  t.equal(history.length, expectedChanged, 'a history row for every changed attempt');
  t.ok(
    history.every((row) => row.n === 1),
    'one each',
  );
  const after = publisher.calls.attemptRegraded.map((event) => event.attemptId);
  t.equal(after.length, expectedChanged - before.size, 'the second worker announced only what was left');
  t.notOk(
    after.some((id) => before.has(id)),
    'no attempt regraded by both workers',
  );
  t.equal(new Set(after).size, after.length, 'nor twice by the second');

  const stored = await db().execute<Array<{ score: string; regrade_id: string | null; n: number }>>(
    `SELECT score, results ->> 'regradeId' AS regrade_id, count(*)::int AS n FROM quiz_attempts WHERE quiz_id = ? GROUP BY 1, 2 ORDER BY 1`,
    [fixture.quiz.id],
  );
  t.same(
    stored,
    [
      { score: '0.00', regrade_id: regradeId, n: 500 },
      { score: '2.00', regrade_id: regradeId, n: 1500 },
    ],
    'every attempt carries its new grade, written by this regrade',
  );
  t.match(publisher.calls.regradeFinished, [{ regradeId, status: 'done', processed: ATTEMPTS, changed: expectedChanged }]);
  const counts = await app.queues.get('regrades').getJobCounts('completed', 'failed', 'active', 'waiting');
  t.match(counts, { completed: 1, failed: 0, active: 0, waiting: 0 }, 'the job completed once');
});
