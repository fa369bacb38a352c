import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { asAuth, publishedQuiz, serviceDeps } from '../../helpers/quizzes.js';
import { finishDueLaunchBatch } from '../../../server/modules/attempts/attempts.service.js';
import { closeLaunch, finishLaunchWindow, launchQuiz } from '../../../server/modules/live-sessions/launches.service.js';
import { liveSession, launchAttemptStatuses } from './launch-fixtures.js';

// A launch's close finishes its attempts in set-based batches (`finishDueLaunchBatch`): each
// attempt once, its events once, the lesson its grade completes and the enrollment with it, all
// in the batch's transaction, so a failure in the middle leaves nothing of the batch done.
const { app } = await buildTestApp(t, 'launch-close-batches');
const db = app.orm.em.getConnection();
const owner = await createUser(app, 'instructor');

async function students(n: number): Promise<TestUser[]> {
  return Promise.all(Array.from({ length: n }, () => createUser(app, 'student')));
}

/**
 * A launch of the quiz (true/false worth 1, multiple choice worth 3; pass at 50 %) to `pupils`,
 * whose window and deadlines are then put an hour in the past: every attempt is due. Answers by
 * pupil index: `pass` right on the multiple choice, `fail` wrong on both, `none` nothing (a
 * launched attempt without answers is abandoned).
 */
async function dueLaunch(pupils: TestUser[], answers: Array<'pass' | 'fail' | 'none'>) {
  const { course, lesson, quiz, tf, mc } = await publishedQuiz(app, owner, pupils);
  const sessionId = await liveSession(app, course.id, owner);
  const { deps, publisher, jobs } = serviceDeps(app);
  const online = { online: () => Promise.resolve(pupils.map((p) => p.id)) };
  const created = await launchQuiz({ ...deps, presence: online }, asAuth(owner), sessionId, { quizId: quiz.id, durationSeconds: 600 });
  const attemptOf = new Map(created.started.map((row) => [row.studentId, row.attemptId]));
  for (const [i, pupil] of pupils.entries()) {
    const given = answers[i]!;
    const saved = given === 'none' ? {} : given === 'pass' ? { [tf.id]: false, [mc.id]: ['a'] } : { [tf.id]: false, [mc.id]: ['b'] };
    await db.execute('UPDATE quiz_attempts SET answers = ? WHERE id = ?', [JSON.stringify(saved), attemptOf.get(pupil.id)]);
  }
  await db.execute(`UPDATE quiz_launches SET closes_at = now() - interval '1 hour', opens_at = now() - interval '2 hours' WHERE id = ?`, [created.launch.id]);
  await db.execute(`UPDATE quiz_attempts SET deadline = now() - interval '1 hour', submit_until = now() - interval '1 hour' WHERE launch_id = ?`, [
    created.launch.id,
  ]);
  return { course, lesson, quiz, launchId: created.launch.id, attemptOf, deps, publisher, jobs };
}

async function enrollmentsOf(courseId: string) {
  return db.execute<Array<{ student_id: string; status: string; completed_lessons_count: number; progress_percentage: string }>>(
    'SELECT student_id, status, completed_lessons_count, progress_percentage FROM enrollments WHERE course_id = ?',
    [courseId],
  );
}

async function completedLessonsOf(lessonId: string): Promise<number> {
  const [row] = await db.execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM lesson_progress WHERE lesson_id = ? AND status = 'completed'`, [
    lessonId,
  ]);
  return row!.n;
}

t.test('batches of 5 over 12 attempts: each finished once, its events once, progress and certificates right', async (t) => {
  const pupils = await students(12);
  const answers = pupils.map((_, i): 'pass' | 'fail' | 'none' => (i % 3 === 0 ? 'pass' : i % 3 === 1 ? 'fail' : 'none'));
  const { course, lesson, launchId, attemptOf, deps, publisher, jobs } = await dueLaunch(pupils, answers);
  publisher.log.length = 0;

  const batches = [];
  for (;;) {
    const batch = await finishDueLaunchBatch(deps, launchId, 5);
    batches.push(batch);
    if (batch.locked === 0) break;
  }
  t.same(
    batches.map((b) => b.locked),
    [5, 5, 2, 0],
    'three batches, then nothing is left',
  );
  t.same(await launchAttemptStatuses(app, launchId), { graded: 8, abandoned: 4 }, 'answered attempts graded, unanswered abandoned');

  const finished = publisher.calls.attemptsFinished;
  t.equal(finished.length, 3, 'one attemptsFinished per batch');
  const graded = finished.flatMap((batch) => batch.graded);
  const abandoned = finished.flatMap((batch) => batch.abandoned);
  t.equal(graded.length, 8);
  t.equal(abandoned.length, 4);
  t.equal(new Set([...graded, ...abandoned].map((event) => event.attemptId)).size, 12, 'every attempt announced once');
  t.same(publisher.calls.attemptGraded, [], 'no per-attempt announcement');
  for (const [i, pupil] of pupils.entries()) {
    const event = graded.find((g) => g.attemptId === attemptOf.get(pupil.id));
    if (answers[i] === 'none') {
      t.ok(
        abandoned.some((a) => a.attemptId === attemptOf.get(pupil.id)),
        'no answer: abandoned',
      );
      continue;
    }
    t.match(event, { studentId: pupil.id, courseId: course.id, launchId, expired: true, maxScore: 4, isPassed: answers[i] === 'pass' });
    t.equal(event!.score, answers[i] === 'pass' ? 3 : 0);
  }

  // The course has one lesson (the quiz's): a pass completes it, and the enrollment with it.
  const passed = pupils.filter((_, i) => answers[i] === 'pass').map((p) => p.id);
  t.equal(await completedLessonsOf(lesson.id), passed.length, 'the lesson is completed for each pass, and only for them');
  for (const row of await enrollmentsOf(course.id)) {
    const passes = passed.includes(row.student_id);
    t.equal(row.status, passes ? 'completed' : 'active');
    t.equal(row.completed_lessons_count, passes ? 1 : 0);
  }
  t.same(publisher.calls.lessonProgressRecorded.map((r) => r.enrollment.studentId).sort(), [...passed].sort(), 'one lesson:progress per pass');
  t.same(jobs.certificates.length, passed.length, 'a certificate for each enrollment the close completed');
  const order = publisher.log.filter((method) => method === 'attemptsFinished' || method === 'lessonProgressRecorded');
  t.equal(order[0], 'attemptsFinished', 'the grades are announced before the progress they make');

  // The launch settles once, with nothing left to finish.
  const outcome = await finishLaunchWindow(deps, launchId);
  t.match(outcome, { finished: 0, settled: true, status: 'done' });
  t.equal(publisher.calls.launchSummarized.length, 1);
  t.equal(publisher.calls.attemptsFinished.length, 3, 'nothing announced again');
});

t.test('two finishers at once: every attempt finished and announced exactly once', async (t) => {
  const pupils = await students(10);
  const { launchId, deps, publisher } = await dueLaunch(
    pupils,
    pupils.map(() => 'pass' as const),
  );
  const { deps: other } = serviceDeps(app);
  const outcomes = await Promise.all([finishLaunchWindow(deps, launchId), finishLaunchWindow({ ...other, publisher }, launchId)]);
  const finished = publisher.calls.attemptsFinished.flatMap((batch) => batch.graded);
  t.equal(finished.length, 10);
  t.equal(new Set(finished.map((event) => event.attemptId)).size, 10, 'none twice');
  t.equal(
    outcomes.reduce((sum, o) => sum + ('finished' in o ? o.finished : 0), 0),
    10,
    'the finishers split the work',
  );
  t.equal(publisher.calls.launchSummarized.length, 1, 'one summary');
  t.same(await launchAttemptStatuses(app, launchId), { graded: 10 });
});

t.test("a close runs two batches at once: one batch's events go out while the next is written", async (t) => {
  const pupils = await students(12);
  const { launchId, deps, publisher } = await dueLaunch(
    pupils,
    pupils.map(() => 'pass' as const),
  );
  // The first batch to announce waits (up to 5 s) for another batch to announce meanwhile.
  let release: (() => void) | null = null;
  let overlapped = false;
  const announce = publisher.attemptsFinished.bind(publisher);
  publisher.attemptsFinished = async (finished) => {
    await announce(finished);
    if (release) {
      overlapped = true;
      release();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      release = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    release = null;
  };
  const outcome = await finishLaunchWindow(deps, launchId, 3);
  t.ok(overlapped, 'a second batch was finished while the first was being announced');
  t.match(outcome, { finished: 12, settled: true });
  const announced = publisher.calls.attemptsFinished.flatMap((batch) => batch.graded.map((event) => event.attemptId));
  t.equal(announced.length, 12);
  t.equal(new Set(announced).size, 12, 'each attempt once');
  t.ok(
    publisher.calls.attemptsFinished.every((batch) => batch.graded.length <= 3),
    'in batches of 3',
  );
  t.same(await launchAttemptStatuses(app, launchId), { graded: 12 });
});

t.test('a failure in the middle of a batch leaves nothing of it done; the next run finishes it', async (t) => {
  const pupils = await students(6);
  const { course, lesson, launchId, deps, publisher, jobs } = await dueLaunch(
    pupils,
    pupils.map(() => 'pass' as const),
  );
  const [victim] = await db.execute<Array<{ id: string }>>('SELECT id FROM enrollments WHERE course_id = ? AND student_id = ?', [course.id, pupils[3]!.id]);
  // A real failure inside the batch's transaction, after its grades are written: the lesson
  // progress of one student of the batch is refused.
  const fn = `fail_progress_${victim!.id.replaceAll('-', '')}`;
  await db.execute(
    `CREATE FUNCTION ${fn}() RETURNS trigger AS $$ BEGIN
       IF NEW.enrollment_id = '${victim!.id}' THEN RAISE EXCEPTION 'refused in the test'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
  );
  await db.execute(`CREATE TRIGGER ${fn} BEFORE INSERT ON lesson_progress FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
  try {
    await t.rejects(finishDueLaunchBatch(deps, launchId, 100), /refused in the test/);
    t.same(await launchAttemptStatuses(app, launchId), { in_progress: 6 }, 'no attempt graded');
    t.equal(await completedLessonsOf(lesson.id), 0, 'no lesson progress');
    t.ok(
      (await enrollmentsOf(course.id)).every((row) => row.status === 'active' && row.completed_lessons_count === 0),
      'no enrollment moved',
    );
    t.same(publisher.calls.attemptsFinished, [], 'nothing announced');
    t.same(jobs.certificates, [], 'no certificate');
  } finally {
    await db.execute(`DROP TRIGGER ${fn} ON lesson_progress`);
    await db.execute(`DROP FUNCTION ${fn}()`);
  }
  const outcome = await finishLaunchWindow(deps, launchId);
  t.match(outcome, { finished: 6, settled: true });
  t.same(await launchAttemptStatuses(app, launchId), { graded: 6 });
  t.equal(await completedLessonsOf(lesson.id), 6);
  t.equal(jobs.certificates.length, 6);
  t.equal(publisher.calls.attemptsFinished.flatMap((batch) => batch.graded).length, 6, 'announced once, by the run that committed');
});

t.test("a close's job is due at the close the database wrote plus the grace, whatever the app's clock", async (t) => {
  const pupils = await students(3);
  const { course, quiz } = await publishedQuiz(app, owner, pupils);
  const sessionId = await liveSession(app, course.id, owner);
  // The app's clock a minute ahead of the database's: the grace must count from the close itself.
  const { deps, jobs } = serviceDeps(app, 60_000);
  const online = { online: () => Promise.resolve(pupils.map((p) => p.id)) };
  const created = await launchQuiz({ ...deps, presence: online }, asAuth(owner), sessionId, { quizId: quiz.id, durationSeconds: 600 });
  jobs.launches.length = 0;
  const closed = await closeLaunch(deps, asAuth(owner), created.launch.id);
  const [row] = await db.execute<Array<{ closes_at: string; at_close: boolean }>>(
    `SELECT l.closes_at, bool_and(a.deadline = l.closes_at) AS at_close FROM quiz_launches l JOIN quiz_attempts a ON a.launch_id = l.id WHERE l.id = ? GROUP BY l.closes_at`,
    [created.launch.id],
  );
  t.equal(row!.at_close, true, "every attempt's deadline is the close");
  const closesAtMs = new Date(row!.closes_at).getTime();
  t.equal(Date.parse(closed.closesAt), closesAtMs);
  t.same(
    jobs.launches.map((job) => ({ launchId: job.launchId, runAt: job.runAt.getTime() })),
    [{ launchId: created.launch.id, runAt: closesAtMs + deps.config.quizGraceMs }],
  );
});
