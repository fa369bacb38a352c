import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { asAuth } from '../../helpers/quizzes.js';
import { recordingJobs } from '../../helpers/jobs.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import { waitFor } from '../../helpers/wait.js';
import { updateQuestion } from '../../../server/modules/quizzes/quizzes.service.js';
import { dryRunRegrade, getRegrade, requestRegrade, runRegrade } from '../../../server/modules/regrades/regrades.service.js';
import { saveAnswer, startAttempt, submitAttempt } from '../../../server/modules/attempts/attempts.service.js';
import { attemptForGrading, writeGrade } from '../../../server/modules/attempts/attempts.queries.js';
import { PATTERNS, submitPattern, wrongKeyQuiz, type Pattern } from './fixture.js';

// The regrade flows called directly: the job's work (`runRegrade`) with a recording publisher,
// and real jobs for certificates (the workers run in this process).

const { app } = await buildTestApp(t, 'regrades-service', { WORKERS: 'on', SWEEP_INTERVAL_MS: '3600000' });
const owner = await createUser(app, 'instructor');
const db = () => app.orm.em.fork().getConnection();
const one = async <T>(sql: string, params: unknown[] = []) => (await db().execute<T[]>(sql, params))[0]!;

t.test('a wrong key fixed on a quiz with 20 graded attempts: dry run, run, history, events, completions', async (t) => {
  const plan: Pattern[] = [
    ...Array<Pattern>(5).fill('newlyPassing'),
    ...Array<Pattern>(4).fill('nowFailing'),
    ...Array<Pattern>(6).fill('unchanged'),
    ...Array<Pattern>(3).fill('down'),
    ...Array<Pattern>(2).fill('up'),
  ];
  const students: TestUser[] = [];
  for (let i = 0; i < plan.length + 2; i++) students.push(await createUser(app, 'student'));
  const [running, abandoned] = students.slice(plan.length);
  const fixture = await wrongKeyQuiz(app, owner, students);
  const ids = { quizId: fixture.quiz.id, tf: fixture.tf.id, mc: fixture.mc.id, sa: fixture.sa.id };

  const attemptOf = new Map<string, { pattern: Pattern; student: TestUser }>();
  for (const [i, pattern] of plan.entries()) {
    const graded = await submitPattern(app, students[i]!, ids, pattern);
    t.match(graded.result, PATTERNS[pattern].before, `${pattern} graded under the wrong key`);
    attemptOf.set(graded.id, { pattern, student: students[i]! });
  }
  const runningAttempt = (await startAttempt(app.forkDeps(), asAuth(running!), ids.quizId)).attempt;
  await saveAnswer(app.forkDeps(), asAuth(running!), runningAttempt.id, ids.tf, false);
  const abandonedAttempt = (await startAttempt(app.forkDeps(), asAuth(abandoned!), ids.quizId)).attempt;
  // Its overdue policy would abandon it at its deadline; the row is what matters here.
  await db().execute(`UPDATE quiz_attempts SET status = 'abandoned', answers = ? WHERE id = ?`, [JSON.stringify({ [ids.tf]: false }), abandonedAttempt.id]);

  // Those who passed under the wrong key completed the course and got a certificate.
  await waitFor('the four certificates of the wrong key', async () => (await one<{ n: number }>('SELECT count(*)::int AS n FROM certificates')).n === 4);

  const fixed = await updateQuestion(app.forkDeps(), asAuth(owner), fixture.tf.id, { correctAnswer: false });
  t.equal(fixed.correctAnswer, false);
  t.equal(
    (await one<{ key_version: number }>('SELECT key_version FROM quizzes WHERE id = ?', [ids.quizId])).key_version,
    2,
    'the correction bumps the key version',
  );

  const snapshot = async () =>
    db().execute('SELECT id, status, score, max_score, percentage, is_passed, results FROM quiz_attempts WHERE quiz_id = ? ORDER BY id', [ids.quizId]);
  const before = await snapshot();
  const dry = await dryRunRegrade(app.forkDeps(), asAuth(owner), ids.quizId);
  t.match(dry, { dryRun: true, quizId: ids.quizId, keyVersion: 2, passingScore: 60, gradedAttempts: 20, changed: 14 });
  const expectedChanges = [...attemptOf].filter(([, { pattern }]) => pattern !== 'unchanged');
  t.same(dry.attempts.map((a) => a.attemptId).sort(), expectedChanges.map(([id]) => id).sort(), 'exactly the attempts that change');
  for (const change of dry.attempts) {
    const { pattern, student } = attemptOf.get(change.attemptId)!;
    t.match(change, { studentId: student.id, old: { ...PATTERNS[pattern].before, maxScore: 4 }, new: { ...PATTERNS[pattern].after, maxScore: 4 } }, pattern);
  }
  t.same(await snapshot(), before, 'the dry run writes nothing');
  t.equal((await one<{ n: number }>('SELECT count(*)::int AS n FROM quiz_regrades')).n, 0);

  const jobs = recordingJobs();
  const requested = await requestRegrade({ em: app.orm.em.fork(), jobs }, asAuth(owner), ids.quizId);
  t.match(requested, { keyVersion: 2, status: 'queued', created: true });
  const again = await requestRegrade({ em: app.orm.em.fork(), jobs }, asAuth(owner), ids.quizId);
  t.same(again, { ...requested, created: false }, 'asking again returns the same regrade');
  t.same(jobs.regrades, [requested.regradeId, requested.regradeId], 'its job is asked for (one job id: BullMQ keeps one)');

  const publisher = recordingPublisher();
  const outcome = await runRegrade({ ...app.forkDeps(), publisher }, requested.regradeId);
  t.match(outcome, { status: 'done', regrade: { status: 'done', total: 20, processed: 20, changed: 14, keyVersion: 2 } });
  t.match(await getRegrade(app.forkDeps(), asAuth(owner), requested.regradeId), {
    status: 'done',
    total: 20,
    processed: 20,
    changed: 14,
    requestedBy: owner.id,
  });

  // The attempts: the new grades, written once, with a history row each for those that changed.
  const history = await db().execute<Array<Record<string, unknown>>>(
    `SELECT attempt_id, old_score, new_score, old_max_score, new_max_score, old_percentage, new_percentage, old_passed, new_passed, requested_by
       FROM attempt_regrades WHERE regrade_id = ?`,
    [requested.regradeId],
  );
  t.equal(history.length, 14, 'a history row per changed attempt');
  for (const row of history) {
    const { pattern } = attemptOf.get(row.attempt_id as string)!;
    const { before: old, after } = PATTERNS[pattern];
    t.same(
      row,
      {
        attempt_id: row.attempt_id,
        old_score: `${old.score}.00`,
        new_score: `${after.score}.00`,
        old_max_score: '4.00',
        new_max_score: '4.00',
        old_percentage: `${old.percentage}.00`,
        new_percentage: `${after.percentage}.00`,
        old_passed: old.isPassed,
        new_passed: after.isPassed,
        requested_by: owner.id,
      },
      `history of a ${pattern} attempt`,
    );
  }
  const stored = await db().execute<
    Array<{ id: string; status: string; score: string | null; is_passed: boolean | null; results: Record<string, unknown> | null }>
  >('SELECT id, status, score, is_passed, results FROM quiz_attempts WHERE quiz_id = ?', [ids.quizId]);
  for (const row of stored) {
    const known = attemptOf.get(row.id);
    if (!known) continue;
    t.equal(Number(row.score), PATTERNS[known.pattern].after.score, `${known.pattern}: the new score is stored`);
    t.match(row.results, { score: PATTERNS[known.pattern].after.score, keyVersion: 2, regradeId: requested.regradeId });
  }
  t.match(
    stored.find((row) => row.id === runningAttempt.id),
    { status: 'in_progress', score: null, results: null },
    'a running attempt is untouched',
  );
  t.match(
    stored.find((row) => row.id === abandonedAttempt.id),
    { status: 'abandoned', score: null, results: null },
    'an abandoned attempt is untouched',
  );

  // Events: one quiz:regraded per changed attempt, to its student only; progress, then one summary.
  const regraded = publisher.calls.attemptRegraded;
  t.equal(regraded.length, 14);
  t.same(regraded.map((event) => event.studentId).sort(), expectedChanges.map(([, { student }]) => student.id).sort(), 'to the affected students only');
  for (const event of regraded) {
    const { pattern } = attemptOf.get(event.attemptId)!;
    t.same(event, {
      attemptId: event.attemptId,
      quizId: ids.quizId,
      courseId: fixture.course.id,
      studentId: attemptOf.get(event.attemptId)!.student.id,
      ...PATTERNS[pattern].after,
      maxScore: 4,
      previous: PATTERNS[pattern].before,
    });
  }
  t.match(publisher.calls.regradeProgressed.at(-1), { regradeId: requested.regradeId, processed: 20, total: 20, changed: 14 });
  t.match(publisher.calls.regradeFinished, [{ regradeId: requested.regradeId, status: 'done', processed: 20, changed: 14, keyVersion: 2, error: null }]);

  // The newly passing completed the lesson and the course, and got one certificate each.
  const newlyPassing = plan.flatMap((pattern, i) => (pattern === 'newlyPassing' ? [students[i]!] : []));
  const nowFailing = plan.flatMap((pattern, i) => (pattern === 'nowFailing' ? [students[i]!] : []));
  t.equal(publisher.calls.lessonProgressRecorded.length, 5, 'a lesson completed per newly passing attempt');
  await waitFor('the certificates of the newly passing', async () => (await one<{ n: number }>('SELECT count(*)::int AS n FROM certificates')).n === 9);
  const standing = async (student: TestUser) =>
    one<{ status: string; lesson: string; certificates: number; revoked: number }>(
      `SELECT e.status, lp.status AS lesson,
              (SELECT count(*)::int FROM certificates c WHERE c.enrollment_id = e.id) AS certificates,
              (SELECT count(*)::int FROM certificates c WHERE c.enrollment_id = e.id AND c.is_revoked) AS revoked
         FROM enrollments e LEFT JOIN lesson_progress lp ON lp.enrollment_id = e.id AND lp.lesson_id = ?
        WHERE e.id = ?`,
      [fixture.lesson.id, fixture.enrollments.get(student.id)],
    );
  for (const student of newlyPassing)
    t.same(await standing(student), { status: 'completed', lesson: 'completed', certificates: 1, revoked: 0 }, 'newly passing: completed, one certificate');
  for (const student of nowFailing)
    t.same(await standing(student), { status: 'completed', lesson: 'completed', certificates: 1, revoked: 0 }, 'now failing: keeps completion and certificate');

  // Done is done: running it again changes nothing, asking again returns it.
  const replay = recordingPublisher();
  t.same(await runRegrade({ ...app.forkDeps(), publisher: replay }, requested.regradeId), { status: 'not-running' });
  t.equal(replay.calls.attemptRegraded.length + replay.calls.regradeFinished.length, 0);
  t.match(await requestRegrade({ em: app.orm.em.fork(), jobs }, asAuth(owner), ids.quizId), { regradeId: requested.regradeId, status: 'done', created: false });
  t.equal((await one<{ n: number }>('SELECT count(*)::int AS n FROM attempt_regrades')).n, 14);
});

t.test('a regrade while a student submits: the submit is graded under the corrected key, once', async (t) => {
  const students = [await createUser(app, 'student'), await createUser(app, 'student'), await createUser(app, 'student')];
  const fixture = await wrongKeyQuiz(app, owner, students);
  const ids = { quizId: fixture.quiz.id, tf: fixture.tf.id, mc: fixture.mc.id, sa: fixture.sa.id };
  await submitPattern(app, students[0]!, ids, 'newlyPassing');
  await submitPattern(app, students[1]!, ids, 'nowFailing');
  const late = (await startAttempt(app.forkDeps(), asAuth(students[2]!), ids.quizId)).attempt;

  await updateQuestion(app.forkDeps(), asAuth(owner), fixture.tf.id, { correctAnswer: false });
  const requested = await requestRegrade({ em: app.orm.em.fork(), jobs: recordingJobs() }, asAuth(owner), ids.quizId);
  const publisher = recordingPublisher();
  const [outcome, submitted] = await Promise.all([
    runRegrade({ ...app.forkDeps(), publisher }, requested.regradeId),
    submitAttempt(app.forkDeps(), asAuth(students[2]!), late.id, { [ids.tf]: false, [ids.mc]: ['a'], [ids.sa]: 'Paris' }),
  ]);
  t.match(submitted.result, { score: 4, percentage: 100, isPassed: true }, 'graded under the corrected key');
  t.equal(outcome.status, 'done');
  const regrade = await getRegrade(app.forkDeps(), asAuth(owner), requested.regradeId);
  t.equal(regrade.changed, 2, 'the two attempts graded under the wrong key changed');
  t.equal(regrade.total, regrade.processed, 'the counters agree');
  t.ok(regrade.processed === 2 || regrade.processed === 3, 'the late attempt was regraded at most once (if it was graded before the run passed it)');
  const rows = await db().execute<Array<{ attempt_id: string }>>('SELECT attempt_id FROM attempt_regrades WHERE regrade_id = ?', [requested.regradeId]);
  t.notOk(
    rows.some((row) => row.attempt_id === late.id),
    'no history row for the late attempt: its result did not change',
  );
  t.notOk(
    publisher.calls.attemptRegraded.some((event) => event.attemptId === late.id),
    'and no quiz:regraded',
  );
  const [stored] = await db().execute<Array<{ score: string; results: { keyVersion: number } }>>('SELECT score, results FROM quiz_attempts WHERE id = ?', [
    late.id,
  ]);
  t.equal(Number(stored!.score), 4);
  t.equal(stored!.results.keyVersion, 2);
});

t.test('a grade computed under the old key is not written once the key changed: the submit grades again', async (t) => {
  const student = await createUser(app, 'student');
  const fixture = await wrongKeyQuiz(app, owner, [student]);
  const { attempt } = await startAttempt(app.forkDeps(), asAuth(student), fixture.quiz.id);
  await saveAnswer(app.forkDeps(), asAuth(student), attempt.id, fixture.tf.id, false);
  // A submit's optimistic read: the attempt, its questions (the wrong key) and the row version.
  const read = (await attemptForGrading(app.orm.em.fork(), attempt.id))!;
  t.equal(read.key_version, 1);
  await updateQuestion(app.forkDeps(), asAuth(owner), fixture.tf.id, { correctAnswer: false });
  // Its write, computed under the wrong key, comes after the correction committed.
  const stale = {
    answers: read.answers ?? {},
    results: { score: 0, maxScore: 4, percentage: 0, isPassed: false, questions: [], keyVersion: 1 },
    submittedAt: new Date(),
    gradedAt: new Date(),
    timeTakenSeconds: 1,
    autoSubmitted: false,
  };
  t.equal(await writeGrade(app.orm.em.fork(), attempt.id, stale, read.row_version), undefined, 'is refused: the correction gave the row a new version');
  const graded = await submitAttempt(app.forkDeps(), asAuth(student), attempt.id);
  t.match(graded.result, { score: 2, maxScore: 4 }, 'the submit grades under the corrected key');
  const [row] = await db().execute<Array<{ results: { keyVersion: number } }>>('SELECT results FROM quiz_attempts WHERE id = ?', [attempt.id]);
  t.equal(row!.results.keyVersion, 2);
});

t.test('a regrade batch commits its grades with the lessons they complete, or neither', async (t) => {
  const students = [await createUser(app, 'student'), await createUser(app, 'student'), await createUser(app, 'student')];
  const fixture = await wrongKeyQuiz(app, owner, students);
  const ids = { quizId: fixture.quiz.id, tf: fixture.tf.id, mc: fixture.mc.id, sa: fixture.sa.id };
  for (const student of students) await submitPattern(app, student, ids, 'newlyPassing');
  const scores = () => db().execute<Array<{ score: string }>>('SELECT score FROM quiz_attempts WHERE quiz_id = ? ORDER BY id', [ids.quizId]);
  const before = await scores();
  await updateQuestion(app.forkDeps(), asAuth(owner), fixture.tf.id, { correctAnswer: false });
  const requested = await requestRegrade({ em: app.orm.em.fork(), jobs: recordingJobs() }, asAuth(owner), ids.quizId);

  // PostgreSQL refuses the completions of this lesson (a real failure inside the batch, not a fake).
  await db().execute(
    `CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'completion refused'; END $$;
     CREATE TRIGGER refuse_completion BEFORE INSERT OR UPDATE ON lesson_progress
       FOR EACH ROW WHEN (NEW.lesson_id = '${fixture.lesson.id}') EXECUTE FUNCTION refuse_completion()`,
  );
  const failed = recordingPublisher();
  await t.rejects(runRegrade({ ...app.forkDeps(), publisher: failed }, requested.regradeId), /completion refused/);
  t.same(await scores(), before, 'no grade committed without its completion');
  t.equal((await one<{ n: number }>('SELECT count(*)::int AS n FROM attempt_regrades WHERE regrade_id = ?', [requested.regradeId])).n, 0, 'nor a history row');
  t.match(await getRegrade(app.forkDeps(), asAuth(owner), requested.regradeId), { status: 'running', processed: 0 }, 'the cursor did not move');
  t.equal(failed.calls.attemptRegraded.length, 0, 'nothing was announced');

  await db().execute('DROP TRIGGER refuse_completion ON lesson_progress; DROP FUNCTION refuse_completion()');
  const publisher = recordingPublisher();
  t.match(
    await runRegrade({ ...app.forkDeps(), publisher }, requested.regradeId),
    { status: 'done', regrade: { processed: 3, changed: 3 } },
    'run again: done',
  );
  t.equal(publisher.calls.lessonProgressRecorded.length, 3, 'each newly passing student completed the lesson');
  const lessons = await one<{ n: number }>(`SELECT count(*)::int AS n FROM lesson_progress WHERE lesson_id = ? AND status = 'completed'`, [fixture.lesson.id]);
  t.equal(lessons.n, 3);
});
