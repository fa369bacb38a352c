/**
 * Scenario 5, baseline: a bare Fastify with raw `pg` queries serving the same JSON as
 * `GET /api/courses/:idOrSlug` (anonymous caller) and `GET /api/quizzes/:id` (owner caller:
 * the quiz with its questions). It does the same checks a real handler must do — token
 * signature, the user still active, the course published / owned — and nothing else: no
 * plugins, no ORM, no response schemas.
 */
import Fastify from 'fastify';
import jwt from '@fastify/jwt';
import pg from 'pg';
import { buildTree } from '../../server/domain/lesson-tree.js';
import { loadConfig } from '../../server/config/config.js';
import { serve } from './serve.js';

const config = loadConfig(process.env);

await serve(async () => {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
  const app = Fastify({ logger: false });
  await app.register(jwt, { secret: config.jwtSecret });

  app.get<{ Params: { slug: string } }>('/api/courses/:slug', async (request, reply) => {
    const {
      rows: [c],
    } = await pool.query(
      `SELECT c.*, u.full_name AS instructor_name, (SELECT count(*)::int FROM lessons l WHERE l.course_id = c.id) AS lesson_count
         FROM courses c JOIN users u ON u.id = c.instructor_id WHERE c.slug = $1 AND c.is_published`,
      [request.params.slug.toLowerCase()],
    );
    if (!c) return reply.status(404).send({ error: { code: 'NOT_FOUND' } });
    const { rows: lessons } = await pool.query(
      `SELECT l.*, q.id AS quiz_id, q.is_published AS quiz_published FROM lessons l LEFT JOIN quizzes q ON q.lesson_id = l.id WHERE l.course_id = $1`,
      [c.id],
    );
    const outline = lessons.map((l) => ({
      id: l.id,
      courseId: l.course_id,
      title: l.title,
      slug: l.slug,
      description: l.description,
      lessonType: l.lesson_type,
      orderIndex: l.order_index,
      parentLessonId: l.parent_lesson_id,
      durationMinutes: l.duration_minutes,
      isPreview: l.is_preview,
      quizId: l.quiz_id && l.quiz_published ? l.quiz_id : null,
      ...(l.is_preview ? { content: l.content, videoUrl: l.video_url } : {}),
    }));
    return {
      id: c.id,
      title: c.title,
      slug: c.slug,
      description: c.description,
      category: c.category,
      difficultyLevel: c.difficulty_level,
      isPublished: c.is_published,
      thumbnailUrl: c.thumbnail_url,
      estimatedDurationMinutes: c.estimated_duration_minutes,
      metadata: c.metadata ?? {},
      instructor: { id: c.instructor_id, fullName: c.instructor_name },
      lessonCount: c.lesson_count,
      createdAt: c.created_at,
      updatedAt: c.updated_at,
      lessons: buildTree(outline),
      enrollment: null,
    };
  });

  app.get<{ Params: { id: string } }>('/api/quizzes/:id', async (request, reply) => {
    let claims: { sub: string; typ: string };
    try {
      claims = await request.jwtVerify();
    } catch {
      return reply.status(401).send({ error: { code: 'UNAUTHORIZED' } });
    }
    if (claims.typ !== 'access') return reply.status(401).send({ error: { code: 'UNAUTHORIZED' } });
    const {
      rows: [user],
    } = await pool.query('SELECT id, role, is_active FROM users WHERE id = $1', [claims.sub]);
    if (!user?.is_active) return reply.status(401).send({ error: { code: 'UNAUTHORIZED' } });
    const {
      rows: [q],
    } = await pool.query(
      `SELECT q.*, c.instructor_id FROM quizzes q JOIN lessons l ON l.id = q.lesson_id JOIN courses c ON c.id = l.course_id WHERE q.id = $1`,
      [request.params.id],
    );
    if (!q) return reply.status(404).send({ error: { code: 'NOT_FOUND' } });
    if (q.instructor_id !== user.id && user.role !== 'admin') return reply.status(403).send({ error: { code: 'FORBIDDEN' } });
    const { rows: questions } = await pool.query('SELECT * FROM quiz_questions WHERE quiz_id = $1 ORDER BY order_index, created_at', [q.id]);
    return {
      id: q.id,
      lessonId: q.lesson_id,
      title: q.title,
      description: q.description,
      quizType: q.quiz_type,
      passingScore: q.passing_score,
      timeLimitMinutes: q.time_limit_minutes,
      timeLimitSeconds: q.time_limit_seconds,
      maxAttempts: q.max_attempts,
      shuffleQuestions: q.shuffle_questions,
      shuffleOptions: q.shuffle_options,
      showCorrectAnswers: q.show_correct_answers,
      isPublished: q.is_published,
      metadata: q.metadata ?? {},
      overdueHandling: q.overdue_handling,
      gracePeriodSeconds: q.grace_period_seconds,
      keyVersion: q.key_version,
      questionCount: questions.length,
      createdAt: q.created_at,
      updatedAt: q.updated_at,
      questions: questions.map((x) => ({
        id: x.id,
        quizId: x.quiz_id,
        questionText: x.question_text,
        questionType: x.question_type,
        points: x.points,
        orderIndex: x.order_index,
        options: x.options,
        correctAnswer: x.correct_answer,
        explanation: x.explanation,
        createdAt: x.created_at,
        updatedAt: x.updated_at,
      })),
    };
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    port: (app.server.address() as { port: number }).port,
    close: async () => {
      await app.close();
      await pool.end();
    },
  };
});
