import pg from 'pg';

/**
 * Scenario 1(b)'s data: a published timed quiz (its own quiz lesson in the bench course, one
 * hour, two questions) and one `in_progress` attempt per given student, written with SQL the
 * way `startAttempt` writes them (question order, empty answers). Every attempt starts at the
 * same whole second, so all deadlines are equal and an hour away: no attempt expires during the
 * run, and the app ticks them all in the same pass, as the baseline's one timer does.
 */
export async function seedTimedAttempts(
  databaseUrl: string,
  courseId: string,
  studentIds: string[],
): Promise<Array<{ studentId: string; attemptId: string; deadline: string }>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    let {
      rows: [quiz],
    } = await client.query<{ id: string }>(
      `SELECT q.id FROM quizzes q JOIN lessons l ON l.id = q.lesson_id WHERE l.slug = 'bench-timed-quiz' AND l.course_id = $1`,
      [courseId],
    );
    if (!quiz) {
      const {
        rows: [lesson],
      } = await client.query<{ id: string }>(
        `INSERT INTO lessons (course_id, title, slug, description, content, lesson_type, order_index, duration_minutes)
         VALUES ($1, 'Timed quiz', 'bench-timed-quiz', 'An hour-long quiz', 'Quiz', 'quiz', 100, 60) RETURNING id`,
        [courseId],
      );
      ({
        rows: [quiz],
      } = await client.query<{ id: string }>(
        `INSERT INTO quizzes (lesson_id, title, description, quiz_type, passing_score, time_limit_seconds, is_published)
         VALUES ($1, 'Bench timed quiz', 'Two questions, one hour', 'graded', 50, 3600, true) RETURNING id`,
        [lesson!.id],
      ));
      for (let index = 0; index < 2; index++) {
        const options = [0, 1].map((n) => ({ id: `o${n}`, text: `Option ${n}`, isCorrect: n === 0 }));
        await client.query(
          `INSERT INTO quiz_questions (quiz_id, question_text, question_type, points, order_index, options) VALUES ($1, $2, 'multiple_choice', 1, $3, $4)`,
          [quiz!.id, `Timed question ${index + 1}`, index, JSON.stringify(options)],
        );
      }
    }
    const { rows: questions } = await client.query<{ id: string; options: Array<{ id: string }> }>(
      'SELECT id, options FROM quiz_questions WHERE quiz_id = $1 ORDER BY order_index',
      [quiz!.id],
    );
    const order = JSON.stringify(questions.map((q) => ({ questionId: q.id, optionIds: q.options.map((o) => o.id) })));
    const startedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const deadline = new Date(startedAt.getTime() + 3600_000);
    const { rows } = await client.query<{ student_id: string; id: string }>(
      `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, deadline, question_order, answers)
       SELECT e.id, $1, 1, 'in_progress', $2, $3, $4, '{}' FROM enrollments e WHERE e.course_id = $5 AND e.student_id = ANY($6::uuid[])
       RETURNING id, (SELECT student_id FROM enrollments WHERE id = enrollment_id)`,
      [quiz!.id, startedAt, deadline, order, courseId, studentIds],
    );
    await client.query('COMMIT');
    return rows.map((row) => ({ studentId: row.student_id, attemptId: row.id, deadline: deadline.toISOString() }));
  } finally {
    await client.end();
  }
}
