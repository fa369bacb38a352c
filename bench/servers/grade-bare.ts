/**
 * Scenario 6, baseline: bare Socket.IO (app options, same streams adapter; see bare-io.ts) whose
 * `quiz:submit {attemptId}` handler runs one raw `pg` transaction — lock the attempt and read its
 * answers, read the quiz's questions, grade them with the same pure grading function, write the
 * score — then emits `quiz:graded` to the student's and the course instructors' rooms and acks.
 * No auth, no ORM, no attempt JSON in the ack, no lesson completion. With `BENCH_CPU_PROF_DIR` set,
 * it writes a CPU profile of its run there (see cpu-profile.ts).
 */
import { gradeAttempt } from '../../server/domain/grading.js';
import { gradableQuestions, type QuestionRow } from './bare-questions.js';
import { startBareIo } from './bare-io.js';
import { serve } from './serve.js';

type Ack = (response: unknown) => void;

await serve({ cpuProfile: 'grade-bare' }, async () => {
  const bare = await startBareIo('grade', (socket) => {
    socket.on('quiz:submit', async (data: { attemptId?: string }, ack?: Ack) => {
      const client = await bare.pool.connect();
      try {
        await client.query('BEGIN');
        const {
          rows: [attempt],
        } = await client.query<{ answers: Record<string, unknown>; quiz_id: string; student_id: string; course_id: string; passing_score: number }>(
          `SELECT a.answers, a.quiz_id, e.student_id, e.course_id, q.passing_score
             FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id JOIN quizzes q ON q.id = a.quiz_id
            WHERE a.id = $1 AND a.status = 'in_progress' FOR UPDATE OF a`,
          [data?.attemptId],
        );
        if (!attempt) {
          await client.query('ROLLBACK');
          ack?.({ ok: false, error: { code: 'CONFLICT', message: 'not in progress' } });
          return;
        }
        const { rows: questions } = await client.query<QuestionRow>(
          'SELECT id, question_text, question_type, points, options, correct_answer, explanation FROM quiz_questions WHERE quiz_id = $1',
          [attempt.quiz_id],
        );
        const grade = gradeAttempt(gradableQuestions(questions), attempt.answers ?? {}, attempt.passing_score);
        await client.query(
          `UPDATE quiz_attempts SET status = 'graded', score = $2, max_score = $3, percentage = $4, is_passed = $5, submitted_at = now(), graded_at = now() WHERE id = $1`,
          [data.attemptId, grade.score, grade.maxScore, grade.percentage, grade.isPassed],
        );
        await client.query('COMMIT');
        const event = {
          attemptId: data.attemptId,
          quizId: attempt.quiz_id,
          studentId: attempt.student_id,
          score: grade.score,
          maxScore: grade.maxScore,
          percentage: grade.percentage,
          isPassed: grade.isPassed,
        };
        bare.io
          .to([`user:${attempt.student_id}`, `course:${attempt.course_id}:instructors`])
          .emit('quiz:graded', { ...event, serverNow: new Date().toISOString() });
        ack?.({ ok: true, data: event });
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        ack?.({ ok: false, error: { code: 'INTERNAL_ERROR', message: (error as Error).message } });
      } finally {
        client.release();
      }
    });
  });
  return {
    port: bare.port,
    close: () => bare.close(),
  };
});
