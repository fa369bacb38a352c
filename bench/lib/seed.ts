import pg from 'pg';

export interface HttpSeed {
  instructorId: string;
  courseSlug: string;
  courseId: string;
  quizId: string;
}

/**
 * Scenario 5's data, written with SQL: an instructor, a published course with 20 lessons
 * (5 sections of 3 children, plus the 5 section heads) and a published quiz of 10 questions.
 */
export async function seedHttp(databaseUrl: string): Promise<HttpSeed> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    const {
      rows: [user],
    } = await client.query<{ id: string }>(
      `INSERT INTO users (email, password_hash, full_name, role) VALUES ('bench-instructor@example.com', 'x', 'Bench Instructor', 'instructor') RETURNING id`,
    );
    const {
      rows: [course],
    } = await client.query<{ id: string }>(
      `INSERT INTO courses (title, slug, description, instructor_id, category, difficulty_level, is_published, estimated_duration_minutes, metadata)
       VALUES ('Benchmarking 101', 'bench-course', 'A course for the benchmark', $1, 'engineering', 'beginner', true, 300, '{"tags":["bench"]}') RETURNING id`,
      [user!.id],
    );
    let quizLessonId = '';
    for (let section = 0; section < 5; section++) {
      const {
        rows: [head],
      } = await client.query<{ id: string }>(
        `INSERT INTO lessons (course_id, title, slug, description, content, lesson_type, order_index, is_preview, duration_minutes)
         VALUES ($1, $2, $3, 'Section', $4, 'text', $5, $6, 10) RETURNING id`,
        [course!.id, `Section ${section + 1}`, `section-${section + 1}`, 'Lorem ipsum '.repeat(40), section, section === 0],
      );
      for (let child = 0; child < 3; child++) {
        const {
          rows: [lesson],
        } = await client.query<{ id: string }>(
          `INSERT INTO lessons (course_id, title, slug, description, content, lesson_type, order_index, parent_lesson_id, video_url, duration_minutes)
           VALUES ($1, $2, $3, 'Lesson', $4, $5, $6, $7, $8, 15) RETURNING id`,
          [
            course!.id,
            `Lesson ${section + 1}.${child + 1}`,
            `lesson-${section + 1}-${child + 1}`,
            'Dolor sit amet '.repeat(60),
            child === 2 ? 'quiz' : 'video',
            child,
            head!.id,
            child === 2 ? null : `https://videos.example.com/${section}-${child}.mp4`,
          ],
        );
        if (section === 0 && child === 2) quizLessonId = lesson!.id;
      }
    }
    const {
      rows: [quiz],
    } = await client.query<{ id: string }>(
      `INSERT INTO quizzes (lesson_id, title, description, quiz_type, passing_score, time_limit_seconds, is_published)
       VALUES ($1, 'Bench quiz', 'Ten questions', 'graded', 70, 600, true) RETURNING id`,
      [quizLessonId],
    );
    for (let index = 0; index < 10; index++) {
      const options = [0, 1, 2, 3].map((n) => ({ id: `o${n}`, text: `Option ${n} of question ${index + 1}`, isCorrect: n === index % 4 }));
      await client.query(
        `INSERT INTO quiz_questions (quiz_id, question_text, question_type, points, order_index, options, explanation)
         VALUES ($1, $2, 'multiple_choice', 1, $3, $4, 'Because.')`,
        [quiz!.id, `Question ${index + 1}: which option is right?`, index, JSON.stringify(options)],
      );
    }
    await client.query('COMMIT');
    return { instructorId: user!.id, courseSlug: 'bench-course', courseId: course!.id, quizId: quiz!.id };
  } finally {
    await client.end();
  }
}

/** The scenario 5 course (seeding it when this run has not yet), with `count` enrolled students. */
export async function seedStudents(databaseUrl: string, count: number): Promise<{ courseId: string; studentIds: string[] }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    let {
      rows: [course],
    } = await client.query<{ id: string }>(`SELECT id FROM courses WHERE slug = 'bench-course'`);
    if (!course) course = { id: (await seedHttp(databaseUrl)).courseId };
    const { rows } = await client.query<{ id: string }>(
      `WITH fresh AS (
         INSERT INTO users (email, password_hash, full_name, role)
         SELECT 'bench-student-' || n || '-' || gen_random_uuid() || '@example.com', 'x', 'Student ' || n, 'student'
           FROM generate_series(1, $1::int) AS n
         RETURNING id)
       INSERT INTO enrollments (student_id, course_id, total_lessons_count)
       SELECT id, $2, (SELECT count(*) FROM lessons WHERE course_id = $2) FROM fresh RETURNING student_id AS id`,
      [count, course.id],
    );
    return { courseId: course.id, studentIds: rows.map((row) => row.id) };
  } finally {
    await client.end();
  }
}
