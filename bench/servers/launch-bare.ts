/**
 * Scenario 9, baseline: bare Socket.IO (app options, same streams adapter; see bare-io.ts) and a
 * raw `pg` pool, with the two routes of a launch on the same HTTP server and no framework, auth,
 * ORM, validation or jobs.
 *
 * - Online: a socket whose handshake `auth` names `studentId` and `courseId` is online in that
 *   course while it is connected (in this process's memory: the app's presence is in Redis).
 * - `POST /api/live-sessions/:id/launches {quizId, durationSeconds}`: reads the session's course
 *   and the quiz's questions, then one transaction — the `quiz_launches` row and one
 *   `INSERT … SELECT` of an `in_progress` attempt per enrolled online student (numbered after the
 *   student's last attempt, deadline `closes_at`, questions in quiz order) — then `quiz:started`
 *   with the whole attempt object to each `user:<id>` and `session:quiz-launched` to the course.
 * - `POST /api/launches/:id/close`: marks the launch closed and tells the course
 *   (`session:quiz-closed`); after the network grace (`QUIZ_GRACE_MS`, as the app: answers in
 *   flight at the close still count), one transaction — lock its `in_progress` attempts with their
 *   answers, grade each with the product's pure `gradeAttempt`, write every grade (score, result
 *   snapshot, times) in one `UPDATE … FROM unnest(…)` with `RETURNING` — then `quiz:graded` to
 *   each student and the course's instructors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig } from '../../server/config/config.js';
import { gradeAttempt } from '../../server/domain/grading.js';
import { gradableQuestions, type QuestionRow } from './bare-questions.js';
import { startBareIo } from './bare-io.js';
import { serve } from './serve.js';

const QUESTIONS = `SELECT id, question_text, question_type, points, options, correct_answer, explanation
                     FROM quiz_questions WHERE quiz_id = $1 ORDER BY order_index, created_at, id`;

const INSERT_ATTEMPTS = `
  WITH fresh AS (
    INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, deadline, question_order, answers, launch_id)
    SELECT e.id, $1, coalesce((SELECT max(a.attempt_number) FROM quiz_attempts a WHERE a.enrollment_id = e.id AND a.quiz_id = $1), 0) + 1,
           'in_progress', now(), $2, $3::jsonb, '{}', $4
      FROM enrollments e
     WHERE e.course_id = $5 AND e.status IN ('active', 'completed') AND e.student_id = ANY($6::uuid[])
    RETURNING id, enrollment_id, attempt_number, started_at)
  SELECT fresh.*, e.student_id FROM fresh JOIN enrollments e ON e.id = fresh.enrollment_id`;

const WRITE_GRADES = `
  UPDATE quiz_attempts a
     SET status = 'graded', results = g.results, score = g.score, max_score = g.max_score, percentage = g.percentage,
         is_passed = g.is_passed, submitted_at = now(), graded_at = now(),
         time_taken_seconds = greatest(0, extract(epoch FROM now() - a.started_at))::int, auto_submitted = true
    FROM unnest($1::uuid[], $2::jsonb[], $3::numeric[], $4::numeric[], $5::numeric[], $6::boolean[])
         AS g(id, results, score, max_score, percentage, is_passed)
   WHERE a.id = g.id
  RETURNING a.id, a.quiz_id, a.score, a.max_score, a.percentage, a.is_passed, a.enrollment_id`;

interface ClosedLaunch {
  quiz_id: string;
  course_id: string;
  passing_score: number;
}

interface Reply {
  status: number;
  data: unknown;
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function reply(res: ServerResponse, status: number, data: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
}

await serve({ cpuProfile: 'launch-bare' }, async () => {
  /** Course id → its online students (connected sockets per student). */
  const online = new Map<string, Map<string, number>>();
  const bare = await startBareIo('launch', (socket, auth) => {
    const { studentId, courseId } = auth as { studentId?: string; courseId?: string };
    if (!studentId || !courseId) return; // the instructor's socket only listens
    const course = online.get(courseId) ?? new Map<string, number>();
    online.set(courseId, course);
    course.set(studentId, (course.get(studentId) ?? 0) + 1);
    socket.on('disconnect', () => {
      const left = (course.get(studentId) ?? 1) - 1;
      if (left > 0) course.set(studentId, left);
      else course.delete(studentId);
    });
  });
  const { io, pool } = bare;
  // The app's network grace (QUIZ_GRACE_MS, from the same environment).
  const graceMs = loadConfig(process.env).quizGraceMs;

  async function launch(sessionId: string, input: Record<string, unknown>): Promise<Reply> {
    const quizId = String(input.quizId);
    const durationSeconds = Number(input.durationSeconds);
    const {
      rows: [session],
    } = await pool.query<{ course_id: string }>(`SELECT course_id FROM live_sessions WHERE id = $1 AND status = 'live'`, [sessionId]);
    if (!session) return { status: 404, data: { error: 'no live session' } };
    const { rows: questions } = await pool.query<QuestionRow>(QUESTIONS, [quizId]);
    const order = questions.map((q) => ({ questionId: q.id, optionIds: q.options?.map((o) => o.id) ?? null }));
    const students = [...(online.get(session.course_id)?.keys() ?? [])];
    const client = await pool.connect();
    let launchRow: { id: string; closes_at: Date };
    let attempts: Array<{ id: string; enrollment_id: string; attempt_number: number; started_at: Date; student_id: string }>;
    try {
      await client.query('BEGIN');
      const launched = await client.query<{ id: string; closes_at: Date }>(
        `INSERT INTO quiz_launches (session_id, quiz_id, closes_at) VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING id, closes_at`,
        [sessionId, quizId, durationSeconds],
      );
      launchRow = launched.rows[0]!;
      ({ rows: attempts } = await client.query(INSERT_ATTEMPTS, [
        quizId,
        launchRow.closes_at,
        JSON.stringify(order),
        launchRow.id,
        session.course_id,
        students,
      ]));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    const deadline = launchRow.closes_at.toISOString();
    const attemptQuestions = questions.map((q) => ({
      id: q.id,
      questionText: q.question_text,
      questionType: q.question_type,
      points: q.points,
      ...(q.options ? { options: q.options.map((o) => ({ id: o.id, text: o.text })), multipleSelect: q.options.filter((o) => o.isCorrect).length > 1 } : {}),
    }));
    for (const row of attempts) {
      const serverNow = new Date().toISOString();
      const attempt = {
        id: row.id,
        quizId,
        enrollmentId: row.enrollment_id,
        studentId: row.student_id,
        launchId: launchRow.id,
        attemptNumber: row.attempt_number,
        status: 'in_progress',
        startedAt: row.started_at.toISOString(),
        deadline,
        serverNow,
        questions: attemptQuestions,
        answers: {},
      };
      io.to(`user:${row.student_id}`).emit('quiz:started', {
        attemptId: row.id,
        quizId,
        studentId: row.student_id,
        courseId: session.course_id,
        deadline,
        launchId: launchRow.id,
        attempt,
        serverNow,
      });
    }
    io.to(`course:${session.course_id}`).emit('session:quiz-launched', {
      launchId: launchRow.id,
      quizId,
      closesAt: deadline,
      courseId: session.course_id,
      serverNow: new Date().toISOString(),
    });
    // The app's reply shape: the launch, and who started (nobody is skipped here).
    return {
      status: 201,
      data: {
        launch: { id: launchRow.id, sessionId, courseId: session.course_id, quizId, closesAt: deadline },
        started: attempts.map((row) => ({ attemptId: row.id, studentId: row.student_id, deadline })),
        skipped: [],
      },
    };
  }

  /**
   * The close: the launch is marked closed at once (the reply), and its running attempts are graded
   * `graceMs` later, as the product's contract has it (an answer sent before the close and still in
   * flight counts): one transaction then — lock the running attempts with their answers, grade each,
   * write every grade in one `UPDATE … FROM unnest(…)` — then the emits.
   */
  async function close(launchId: string): Promise<Reply> {
    const {
      rows: [closed],
    } = await pool.query<ClosedLaunch>(
      `UPDATE quiz_launches l SET closed_at = now() FROM live_sessions s, quizzes q
        WHERE l.id = $1 AND l.closed_at IS NULL AND s.id = l.session_id AND q.id = l.quiz_id
        RETURNING l.quiz_id, s.course_id, q.passing_score`,
      [launchId],
    );
    if (!closed) return { status: 409, data: { error: 'launch closed already' } };
    io.to(`course:${closed.course_id}`).emit('session:quiz-closed', { launchId, courseId: closed.course_id, serverNow: new Date().toISOString() });
    setTimeout(() => {
      gradeClosed(launchId, closed).catch((error: unknown) => console.error('bench: launch-bare: grading the close failed', error));
    }, graceMs);
    return { status: 200, data: { id: launchId } };
  }

  async function gradeClosed(launchId: string, closed: ClosedLaunch): Promise<void> {
    const client = await pool.connect();
    let graded: Array<{ id: string; quiz_id: string; score: string; max_score: string; percentage: string; is_passed: boolean; enrollment_id: string }>;
    const studentOf = new Map<string, string>();
    try {
      await client.query('BEGIN');
      const { rows: running } = await client.query<{ id: string; answers: Record<string, unknown> | null; enrollment_id: string; student_id: string }>(
        `SELECT a.id, a.answers, a.enrollment_id, e.student_id FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
          WHERE a.launch_id = $1 AND a.status = 'in_progress' FOR UPDATE OF a`,
        [launchId],
      );
      const { rows: questions } = await client.query<QuestionRow>(QUESTIONS, [closed.quiz_id]);
      const gradable = gradableQuestions(questions);
      const grades = running.map((attempt) => gradeAttempt(gradable, attempt.answers ?? {}, closed.passing_score));
      for (const attempt of running) studentOf.set(attempt.enrollment_id, attempt.student_id);
      ({ rows: graded } = await client.query(WRITE_GRADES, [
        running.map((a) => a.id),
        grades.map((g) => JSON.stringify(g)),
        grades.map((g) => g.score),
        grades.map((g) => g.maxScore),
        grades.map((g) => g.percentage),
        grades.map((g) => g.isPassed),
      ]));
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    const instructors = `course:${closed.course_id}:instructors`;
    for (const row of graded) {
      const studentId = studentOf.get(row.enrollment_id)!;
      io.to([`user:${studentId}`, instructors]).emit('quiz:graded', {
        attemptId: row.id,
        quizId: row.quiz_id,
        studentId,
        courseId: closed.course_id,
        score: Number(row.score),
        maxScore: Number(row.max_score),
        percentage: Number(row.percentage),
        isPassed: row.is_passed,
        serverNow: new Date().toISOString(),
      });
    }
  }

  io.httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (url.startsWith('/socket.io/')) return; // Socket.IO's own (answered by its engine)
    const launchPath = /^\/api\/live-sessions\/([0-9a-f-]{36})\/launches$/.exec(url);
    const closePath = /^\/api\/launches\/([0-9a-f-]{36})\/close$/.exec(url);
    if (req.method !== 'POST' || (!launchPath && !closePath)) return reply(res, 404, { error: 'not found' });
    body(req)
      .then((input): Promise<Reply> => (launchPath ? launch(launchPath[1]!, input) : close(closePath![1]!)))
      .then(
        ({ status, data }) => reply(res, status, data),
        (error: Error) => reply(res, 500, { error: error.message }),
      );
  });
  return {
    port: bare.port,
    close: () => bare.close(),
  };
});
