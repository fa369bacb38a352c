import pg from 'pg';

export interface StatsSeed {
  instructorId: string;
  quizId: string;
  attempts: number;
}

/**
 * Scenario 10's data, written with SQL in a few statements (generate_series): an instructor, a
 * published course with a quiz of `questions` questions of 1 point (every fifth a short answer,
 * the others multiple choice with 4 options), `students` enrolled students and `attemptsEach`
 * graded attempts per student whose `results` look like the grader's: per question the points,
 * maxPoints, correct, the answer and the question's snapshot. Each attempt has an ability drawn at
 * random and questions get harder with their index, so the items discriminate; about 3% of the
 * answers are left blank. `setseed` makes the data the same on every run.
 */
export async function seedStats(databaseUrl: string, sizes: { students: number; attemptsEach: number; questions: number }): Promise<StatsSeed> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT setseed(0.42)');
    const one = async (sql: string, params: unknown[] = []) => (await client.query<{ id: string }>(sql, params)).rows[0]!.id;
    const instructorId = await one(
      `INSERT INTO users (email, password_hash, full_name, role) VALUES ('bench-stats-instructor@example.com', 'x', 'Stats Instructor', 'instructor') RETURNING id`,
    );
    const courseId = await one(
      `INSERT INTO courses (title, slug, instructor_id, is_published) VALUES ('Item statistics', 'bench-stats', $1, true) RETURNING id`,
      [instructorId],
    );
    const lessonId = await one(`INSERT INTO lessons (course_id, title, slug, lesson_type) VALUES ($1, 'Quiz', 'quiz', 'quiz') RETURNING id`, [courseId]);
    const quizId = await one(
      `INSERT INTO quizzes (lesson_id, title, quiz_type, passing_score, is_published, max_attempts) VALUES ($1, 'Final', 'graded', 60, true, NULL) RETURNING id`,
      [lessonId],
    );
    await client.query(
      `INSERT INTO quiz_questions (quiz_id, question_text, question_type, points, order_index, options, correct_answer, explanation)
       SELECT $1, 'Question ' || i || ': ' || repeat('which of these statements about the topic holds? ', 2),
              CASE WHEN i % 5 = 4 THEN 'short_answer' ELSE 'multiple_choice' END, 1, i,
              CASE WHEN i % 5 = 4 THEN NULL ELSE (
                SELECT jsonb_agg(jsonb_build_object('id', o, 'text', 'Option ' || o || ' of question ' || i, 'isCorrect', o = 'a') ORDER BY o)
                  FROM unnest(ARRAY['a', 'b', 'c', 'd']) o) END,
              CASE WHEN i % 5 = 4 THEN '{"accepted": ["paris"]}'::jsonb END,
              'Because the lesson says so.'
         FROM generate_series(0, $2::int - 1) i`,
      [quizId, sizes.questions],
    );
    await client.query(
      `INSERT INTO users (email, password_hash, full_name, role)
       SELECT 'bench-stats-' || g || '@example.com', 'x', 'Student ' || g, 'student' FROM generate_series(1, $1::int) g`,
      [sizes.students],
    );
    await client.query(
      `INSERT INTO enrollments (student_id, course_id) SELECT id, $1 FROM users WHERE email LIKE 'bench-stats-%@example.com' AND role = 'student'`,
      [courseId],
    );
    await client.query(
      `WITH attempts AS (
         SELECT gen_random_uuid() AS id, e.id AS enrollment_id, n AS attempt_number, random() AS ability
           FROM enrollments e CROSS JOIN generate_series(1, $3::int) n WHERE e.course_id = $2
       ),
       questions AS (
         SELECT id, order_index, question_type, points::float8 AS points,
                jsonb_build_object('id', id, 'questionText', question_text, 'questionType', question_type, 'points', points,
                                   'options', options, 'correctAnswer', correct_answer, 'explanation', explanation) AS snapshot
           FROM quiz_questions WHERE quiz_id = $1
       ),
       draws AS (
         SELECT a.id AS attempt_id, q.*, random() AS blank, random() AS pick, random() AS luck, a.ability
           FROM attempts a CROSS JOIN questions q
       ),
       cells AS (
         SELECT attempt_id, order_index, points, snapshot, question_type, pick,
                blank >= 0.03 AND luck < 0.2 + 0.75 * ability * (1 - order_index / 30.0) AS correct,
                blank < 0.03 AS unanswered
           FROM draws
       ),
       graded AS (
         SELECT attempt_id, sum(CASE WHEN correct THEN points ELSE 0 END) AS score, sum(points) AS max_score,
                jsonb_agg(jsonb_build_object(
                  'questionId', snapshot->>'id', 'points', CASE WHEN correct THEN points ELSE 0 END, 'maxPoints', points, 'correct', correct,
                  'answer', CASE
                    WHEN unanswered THEN 'null'::jsonb
                    WHEN question_type = 'short_answer' THEN to_jsonb(CASE WHEN correct THEN (ARRAY['Paris', ' paris', 'PARIS'])[1 + floor(pick * 3)::int]
                                                                            ELSE (ARRAY['London', 'rome ', 'Berlin', 'constructor'])[1 + floor(pick * 4)::int] END)
                    ELSE jsonb_build_array(CASE WHEN correct THEN 'a' ELSE (ARRAY['b', 'c', 'd'])[1 + floor(pick * 3)::int] END)
                  END,
                  'snapshot', snapshot) ORDER BY order_index) AS questions
           FROM cells GROUP BY attempt_id
       )
       INSERT INTO quiz_attempts (id, enrollment_id, quiz_id, attempt_number, status, started_at, submitted_at, graded_at, score, max_score,
                                  percentage, is_passed, time_taken_seconds, answers, results)
       SELECT a.id, a.enrollment_id, $1, a.attempt_number, 'graded', now() - interval '1 hour', now(), now(), g.score, g.max_score,
              round((g.score * 100 / g.max_score)::numeric, 2), g.score * 100 / g.max_score >= 60, 600, '{}'::jsonb,
              jsonb_build_object('score', g.score, 'maxScore', g.max_score, 'percentage', round((g.score * 100 / g.max_score)::numeric, 2),
                                 'isPassed', g.score * 100 / g.max_score >= 60, 'questions', g.questions)
         FROM attempts a JOIN graded g ON g.attempt_id = a.id`,
      [quizId, courseId, sizes.attemptsEach],
    );
    const attempts = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM quiz_attempts WHERE quiz_id = $1 AND status = 'graded'`, [quizId]))
      .rows[0]!.n;
    await client.query('COMMIT');
    await client.query('ANALYZE quiz_attempts');
    return { instructorId, quizId, attempts };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    await client.end();
  }
}
