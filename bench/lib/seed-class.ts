/**
 * Data of scenarios 6, 7 and 9, written with SQL: a class (an instructor, a published course with
 * plain lessons and, optionally, a lesson with a graded timed quiz of unlimited attempts) with
 * enrolled students; for scenario 6, fresh `in_progress` attempts with every answer saved; for
 * scenario 9, a live session and the answers of a launch's attempts.
 * Each call makes its own course (random slug), so scenarios sharing a run never meet.
 */
import { randomBytes, randomInt } from 'node:crypto';
import pg from 'pg';

export interface QuizSeed {
  id: string;
  /** In the quiz's order; `correct` is the one right option of each multiple-choice question. */
  questions: Array<{ id: string; optionIds: string[]; correct: string }>;
}

export interface ClassSeed {
  instructorId: string;
  courseId: string;
  /** The plain lessons (no quiz): progress may be written on them. */
  lessonIds: string[];
  quiz: QuizSeed | null;
  students: Array<{ id: string; enrollmentId: string }>;
}

export async function seedClass(databaseUrl: string, options: { students: number; lessons: number; quizQuestions?: number }): Promise<ClassSeed> {
  const tag = randomBytes(4).toString('hex');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    const {
      rows: [instructor],
    } = await client.query<{ id: string }>(
      `INSERT INTO users (email, password_hash, full_name, role) VALUES ($1, 'x', 'Bench Instructor', 'instructor') RETURNING id`,
      [`bench-instructor-${tag}@example.com`],
    );
    const {
      rows: [course],
    } = await client.query<{ id: string }>(
      `INSERT INTO courses (title, slug, description, instructor_id, category, difficulty_level, is_published, estimated_duration_minutes)
       VALUES ('Bench class', $1, 'A class for the benchmark', $2, 'engineering', 'beginner', true, 300) RETURNING id`,
      [`bench-class-${tag}`, instructor!.id],
    );
    const { rows: lessons } = await client.query<{ id: string }>(
      `INSERT INTO lessons (course_id, title, slug, lesson_type, order_index, duration_minutes, video_url)
       SELECT $1, 'Lesson ' || n, 'lesson-' || n, 'video', n, 10, 'https://videos.example.com/' || n || '.mp4' FROM generate_series(0, $2::int - 1) AS n
       ORDER BY n RETURNING id`,
      [course!.id, options.lessons],
    );
    let quiz: QuizSeed | null = null;
    if (options.quizQuestions) {
      const {
        rows: [lesson],
      } = await client.query<{ id: string }>(
        `INSERT INTO lessons (course_id, title, slug, lesson_type, order_index, duration_minutes) VALUES ($1, 'Class quiz', 'class-quiz', 'quiz', $2, 20) RETURNING id`,
        [course!.id, options.lessons],
      );
      // Unlimited attempts (NULL), so every measurement can start a fresh attempt per student.
      const {
        rows: [row],
      } = await client.query<{ id: string }>(
        `INSERT INTO quizzes (lesson_id, title, quiz_type, passing_score, time_limit_seconds, max_attempts, is_published)
         VALUES ($1, 'Class quiz', 'graded', 70, 600, NULL, true) RETURNING id`,
        [lesson!.id],
      );
      quiz = { id: row!.id, questions: [] };
      for (let index = 0; index < options.quizQuestions; index++) {
        const optionIds = ['a', 'b', 'c', 'd'];
        const correct = optionIds[index % 4]!;
        const {
          rows: [question],
        } = await client.query<{ id: string }>(
          `INSERT INTO quiz_questions (quiz_id, question_text, question_type, points, order_index, options, explanation)
           VALUES ($1, $2, 'multiple_choice', 1, $3, $4, 'Because.') RETURNING id`,
          [quiz.id, `Question ${index + 1}?`, index, JSON.stringify(optionIds.map((id) => ({ id, text: `Option ${id}`, isCorrect: id === correct })))],
        );
        quiz.questions.push({ id: question!.id, optionIds, correct });
      }
    }
    const { rows: students } = await client.query<{ id: string; enrollmentId: string }>(
      `WITH fresh AS (
         INSERT INTO users (email, password_hash, full_name, role)
         SELECT 'bench-student-' || $3 || '-' || n || '@example.com', 'x', 'Student ' || n, 'student' FROM generate_series(1, $1::int) AS n
         RETURNING id)
       INSERT INTO enrollments (student_id, course_id, total_lessons_count) SELECT id, $2, $4 FROM fresh RETURNING student_id AS id, id AS "enrollmentId"`,
      [options.students, course!.id, tag, lessons.length + (quiz ? 1 : 0)],
    );
    await client.query('COMMIT');
    return { instructorId: instructor!.id, courseId: course!.id, lessonIds: lessons.map((l) => l.id), quiz, students };
  } finally {
    await client.end();
  }
}

/** Every question answered, each right with probability 0.7, as JSON. */
function classAnswers(quiz: QuizSeed): string {
  return JSON.stringify(Object.fromEntries(quiz.questions.map((q) => [q.id, [randomInt(10) < 7 ? q.correct : q.optionIds.find((id) => id !== q.correct)!]])));
}

/**
 * One fresh `in_progress` attempt per enrollment, numbered `attemptNumber` (unique per
 * enrollment and quiz: the caller counts measurements), started now with the quiz's deadline,
 * the questions in quiz order and every question answered — each right with probability 0.7,
 * so about 60% of the students pass the 70% bar (and complete the quiz's lesson) and the others
 * fail, as in a class. Attempts
 * an earlier measurement left open (a lost submit) are closed first: at most one may run.
 * Returns the attempt ids in the order of `enrollmentIds`.
 */
export async function seedAttempts(databaseUrl: string, quiz: QuizSeed, enrollmentIds: string[], attemptNumber: number): Promise<string[]> {
  const order = JSON.stringify(quiz.questions.map((q) => ({ questionId: q.id, optionIds: q.optionIds })));
  const answers = enrollmentIds.map(() => classAnswers(quiz));
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`UPDATE quiz_attempts SET status = 'submitted' WHERE quiz_id = $1 AND status = 'in_progress'`, [quiz.id]);
    const { rows } = await client.query<{ id: string; enrollment_id: string }>(
      `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, deadline, question_order, answers)
       SELECT e, $2, $3, 'in_progress', now(), now() + interval '600 seconds', $4::jsonb, a::jsonb
         FROM unnest($1::uuid[], $5::text[]) AS t(e, a)
       RETURNING id, enrollment_id`,
      [enrollmentIds, quiz.id, attemptNumber, order, answers],
    );
    const byEnrollment = new Map(rows.map((row) => [row.enrollment_id, row.id]));
    return enrollmentIds.map((id) => byEnrollment.get(id)!);
  } finally {
    await client.end();
  }
}

/** A `live` session of the course started by its instructor, written with SQL (scenario 9's baseline has no sessions route). */
export async function seedLiveSession(databaseUrl: string, seed: ClassSeed): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const {
      rows: [session],
    } = await client.query<{ id: string }>(`INSERT INTO live_sessions (course_id, started_by) VALUES ($1, $2) RETURNING id`, [
      seed.courseId,
      seed.instructorId,
    ]);
    return session!.id;
  } finally {
    await client.end();
  }
}

/**
 * Scenario 9, between a launch and its close: every running attempt of the launch gets every
 * question answered (as `seedAttempts` answers them, about 60% pass), in one statement, as
 * students would have saved them during the window. Returns how many attempts were answered.
 */
export async function answerLaunch(databaseUrl: string, quiz: QuizSeed, launchId: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM quiz_attempts WHERE launch_id = $1 AND status = 'in_progress'`, [launchId]);
    const { rowCount } = await client.query(
      `UPDATE quiz_attempts a SET answers = t.answers::jsonb FROM unnest($1::uuid[], $2::text[]) AS t(id, answers) WHERE a.id = t.id AND a.status = 'in_progress'`,
      [rows.map((row) => row.id), rows.map(() => classAnswers(quiz))],
    );
    return rowCount ?? 0;
  } finally {
    await client.end();
  }
}
