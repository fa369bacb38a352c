import type { EntityManager } from '@mikro-orm/postgresql';
import { emptyDistribution } from '../domain/answer-distribution.js';

/**
 * How the saved answers to one question are spread, over the quiz's running and graded
 * attempts, in one statement: option id → count (multiple choice, every chosen option counts),
 * `true`/`false` → count, normalised text (trimmed, white space collapsed, lower case, as
 * `GET /quizzes/:id/stats` does) → count. Options and true/false start at 0 so the chart has
 * every bar. Null when the question is not in that quiz.
 */
export async function answerDistribution(em: EntityManager, quizId: string, questionId: string): Promise<Record<string, number> | null> {
  const [row] = await em.execute<Array<{ question_type: string | null; options: Array<{ id: string }> | null; counts: Record<string, number> | null }>>(
    `WITH question AS (
       SELECT question_type, options FROM quiz_questions WHERE id = ? AND quiz_id = ?
     ),
     answer AS (
       SELECT a.answers -> ?::text AS value
         FROM quiz_attempts a
        WHERE a.quiz_id = ? AND a.status IN ('in_progress', 'graded') AND a.answers -> ?::text IS NOT NULL
     ),
     choice AS (
       SELECT option_id AS key FROM answer, jsonb_array_elements_text(answer.value) AS option_id
        WHERE jsonb_typeof(answer.value) = 'array'
       UNION ALL
       SELECT lower(btrim(regexp_replace(answer.value #>> '{}', '\\s+', ' ', 'g'))) FROM answer WHERE jsonb_typeof(answer.value) = 'string'
       UNION ALL
       SELECT answer.value::text FROM answer WHERE jsonb_typeof(answer.value) = 'boolean'
     )
     SELECT (SELECT question_type FROM question) AS question_type,
            (SELECT options FROM question) AS options,
            (SELECT jsonb_object_agg(key, n) FROM (SELECT key, count(*)::int AS n FROM choice GROUP BY key) counted) AS counts`,
    [questionId, quizId, questionId, quizId, questionId],
  );
  if (!row?.question_type) return null;
  // Keys are students' text: merged through a Map, since assigning `__proto__` to an object drops it.
  const counts = emptyDistribution({ questionType: row.question_type, options: row.options });
  for (const [key, n] of Object.entries(row.counts ?? {})) counts.set(key, n);
  return Object.fromEntries(counts);
}
