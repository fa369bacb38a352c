/**
 * Scenario 7, baseline: bare Socket.IO (app options, same streams adapter; see bare-io.ts) whose
 * `lesson:progress {lessonId, status?, completionPercentage?, timeSpentSecondsDelta?}` handler
 * runs the same lesson_progress upsert as the app, then one statement that recalculates the
 * enrollment from its rows, then emits `progress:updated` to the student's and the course
 * instructors' rooms and acks. The enrollment, student and course come with the handshake's
 * `auth` (no auth check, no lookup of the lesson, no ORM, no transaction).
 */
import { normalizeProgressWrite } from '../../server/domain/progress.js';
import { startBareIo } from './bare-io.js';
import { serve } from './serve.js';

type Ack = (response: unknown) => void;

const UPSERT = `
  INSERT INTO lesson_progress (enrollment_id, lesson_id, status, started_at, completed_at, time_spent_seconds, completion_percentage)
  VALUES ($1, $2, $3::text, CASE WHEN $3::text <> 'not_started' THEN now() END, CASE WHEN $3::text = 'completed' THEN now() END, $4, $5)
  ON CONFLICT (enrollment_id, lesson_id) DO UPDATE SET
    status = CASE
      WHEN lesson_progress.status = 'completed' OR excluded.status = 'completed' THEN 'completed'
      WHEN lesson_progress.status = 'in_progress' OR excluded.status = 'in_progress' THEN 'in_progress'
      ELSE 'not_started' END,
    started_at = coalesce(lesson_progress.started_at, excluded.started_at),
    completed_at = coalesce(lesson_progress.completed_at, excluded.completed_at),
    time_spent_seconds = lesson_progress.time_spent_seconds + excluded.time_spent_seconds,
    completion_percentage = greatest(lesson_progress.completion_percentage, excluded.completion_percentage),
    updated_at = now()`;

const RECALCULATE = `
  UPDATE enrollments e
     SET progress_percentage = coalesce(round(100.0 * c.completed / nullif(c.total, 0), 2), 0),
         completed_lessons_count = c.completed, total_lessons_count = c.total, total_time_spent_seconds = c.time, updated_at = now()
    FROM (SELECT (SELECT count(*)::int FROM lessons WHERE course_id = $2) AS total,
                 (SELECT count(*)::int FROM lesson_progress lp JOIN lessons l ON l.id = lp.lesson_id
                   WHERE lp.enrollment_id = $1 AND l.course_id = $2 AND lp.status = 'completed') AS completed,
                 (SELECT coalesce(sum(time_spent_seconds), 0)::int FROM lesson_progress WHERE enrollment_id = $1) AS time) c
   WHERE e.id = $1
  RETURNING e.status, e.progress_percentage, e.completed_lessons_count, e.total_lessons_count`;

await serve(async () => {
  const bare = await startBareIo('progress', (socket, auth) => {
    const { enrollmentId, studentId, courseId } = auth as { enrollmentId?: string; studentId?: string; courseId?: string };
    if (!enrollmentId) return; // the instructor's socket only listens
    socket.on(
      'lesson:progress',
      async (
        data: { lessonId: string; status?: 'not_started' | 'in_progress' | 'completed'; completionPercentage?: number; timeSpentSecondsDelta?: number },
        ack?: Ack,
      ) => {
        try {
          const write = normalizeProgressWrite(data);
          await bare.pool.query(UPSERT, [enrollmentId, data.lessonId, write.status, write.timeSpentSecondsDelta, write.completionPercentage]);
          const {
            rows: [row],
          } = await bare.pool.query<{ status: string; progress_percentage: string; completed_lessons_count: number; total_lessons_count: number }>(
            RECALCULATE,
            [enrollmentId, courseId],
          );
          const event = {
            enrollmentId,
            courseId,
            studentId,
            progressPercentage: Number(row!.progress_percentage),
            completedLessonsCount: row!.completed_lessons_count,
            totalLessonsCount: row!.total_lessons_count,
            status: row!.status,
          };
          bare.io.to([`user:${studentId}`, `course:${courseId}:instructors`]).emit('progress:updated', { ...event, serverNow: new Date().toISOString() });
          ack?.({ ok: true, data: event });
        } catch (error) {
          ack?.({ ok: false, error: { code: 'INTERNAL_ERROR', message: (error as Error).message } });
        }
      },
    );
  });
  return { port: bare.port, close: () => bare.close() };
});
