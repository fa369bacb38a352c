import t from 'tap';
import type { EntityManager } from '@mikro-orm/postgresql';
import { buildTestApp } from '../../helpers/app.js';
import { insertLiveSession } from '../../../server/modules/live-sessions/sessions.queries.js';
import { insertLaunchAttempts } from '../../../server/modules/live-sessions/launches.queries.js';
import type { SqlRunner } from '../../../server/platform/db/sql.js';

// A lecture starts minutes after its students enrolled, before PostgreSQL has statistics on the
// enrollments. Its start takes the ids of everyone online; written as `e.student_id IN (…ids)`,
// PostgreSQL planned a nested semi-join that read the whole id list once per enrollment
// (10,000 × 10,000 comparisons: the statement timeout). The plan must read the list once.
const STUDENTS = 10_000;
const { app } = await buildTestApp(t, 'online-students');
const db = app.orm.em.fork();
// No autovacuum on this test's own table, so no ANALYZE gives it statistics behind our back.
await db.execute('ALTER TABLE enrollments SET (autovacuum_enabled = false)');
const [{ id: instructorId }] = await db.execute<Array<{ id: string }>>(
  `INSERT INTO users (email, password_hash, full_name, role) VALUES ('lecturer@example.com', 'x', 'Lecturer', 'instructor') RETURNING id`,
);
const [{ id: courseId }] = await db.execute<Array<{ id: string }>>(
  `INSERT INTO courses (title, slug, instructor_id, is_published) VALUES ('Lecture', 'lecture', ?, true) RETURNING id`,
  [instructorId],
);
const students = await db.execute<Array<{ id: string }>>(
  `INSERT INTO users (email, password_hash, full_name) SELECT 'listener' || i || '@example.com', 'x', 'Listener' FROM generate_series(1, ?::int) i RETURNING id`,
  [STUDENTS],
);
await db.execute(`INSERT INTO enrollments (student_id, course_id) SELECT value::uuid, ? FROM jsonb_array_elements_text(?::jsonb)`, [
  courseId,
  JSON.stringify(students.map((row) => row.id)),
]);

interface PlanNode {
  'Node Type': string;
  'Function Name'?: string;
  'Relation Name'?: string;
  'CTE Name'?: string;
  'Index Name'?: string;
  'Actual Loops': number;
  Plans?: PlanNode[];
}
const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/** An EntityManager whose `execute` runs each statement under `EXPLAIN ANALYZE` (so it still writes) and keeps the plan. */
function explaining(plans: PlanNode[]): EntityManager & SqlRunner {
  return {
    execute: async (sql: string, params: unknown[]) => {
      const [row] = await db.execute<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      plans.push(row!['QUERY PLAN'][0]!.Plan);
      return [];
    },
  } as unknown as EntityManager & SqlRunner;
}

t.test('starting a live session reads the online ids once, however many enrollments there are', async (t) => {
  const plans: PlanNode[] = [];
  // Everyone online, plus one id twice and one who is not enrolled.
  const online = [...students.map((row) => row.id), students[0]!.id, instructorId];
  await insertLiveSession(explaining(plans), courseId, instructorId, online);
  t.equal(plans.length, 1);
  const scans = nodes(plans[0]!).filter((node) => node['Function Name'] === 'jsonb_array_elements_text');
  t.equal(scans.length, 1, 'one scan of the list');
  t.same(
    scans.map((node) => node['Actual Loops']),
    [1],
    'run once, not once per enrollment',
  );
  const [{ n }] = await db.execute<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM live_session_attendance a JOIN live_sessions s ON s.id = a.session_id WHERE s.course_id = ?`,
    [courseId],
  );
  t.equal(n, STUDENTS, 'every online student attends, once');
});

t.test('launching a quiz to everyone online reads the ids once too', async (t) => {
  const [{ id: sessionId }] = await db.execute<Array<{ id: string }>>(`SELECT id FROM live_sessions WHERE course_id = ? AND status = 'live'`, [courseId]);
  const [{ id: lessonId }] = await db.execute<Array<{ id: string }>>(`INSERT INTO lessons (course_id, title, slug) VALUES (?, 'L', 'l') RETURNING id`, [
    courseId,
  ]);
  const [{ id: quizId }] = await db.execute<Array<{ id: string }>>(`INSERT INTO quizzes (lesson_id, title) VALUES (?, 'Q') RETURNING id`, [lessonId]);
  const [{ id: launchId }] = await db.execute<Array<{ id: string }>>(
    `INSERT INTO quiz_launches (session_id, quiz_id, launched_by, opens_at, closes_at, student_offsets)
     VALUES (?, ?, ?, now(), now() + interval '3 minutes', '{}') RETURNING id`,
    [sessionId, quizId, instructorId],
  );
  const plans: PlanNode[] = [];
  await insertLaunchAttempts(explaining(plans), launchId, [...students.map((row) => row.id), students[0]!.id], {});
  const plan = nodes(plans[0]!);
  const scans = plan.filter((node) => node['Function Name'] === 'jsonb_array_elements_text');
  t.same(
    scans.map((node) => node['Actual Loops']),
    [1],
    'one scan of the list, run once',
  );
  // Per student only lookups: never a re-read of a list or of the students' CTEs, never a walk of
  // the quiz's attempts index (which the statement fills as it goes): each was quadratic at 10,000.
  const repeated = plan.filter((node) => node['Actual Loops'] > 1);
  const described = (list: PlanNode[]) => list.map((node) => `${node['Node Type']} ${node['CTE Name'] ?? node['Index Name'] ?? ''}`);
  t.same(described(repeated.filter((node) => /Function Scan|Seq Scan|Sort/.test(node['Node Type']))), [], 'no scan or sort per student');
  t.same(
    described(repeated.filter((node) => node['Node Type'] === 'CTE Scan' && node['CTE Name'] !== 'launch')),
    [],
    'no CTE of the students read per student',
  );
  t.same(described(repeated.filter((node) => node['Index Name'] === 'quiz_attempts_quiz_id_index')), [], "the quiz's attempts are looked up by enrollment");
  const [{ n }] = await db.execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM quiz_attempts WHERE launch_id = ?`, [launchId]);
  t.equal(n, STUDENTS, 'an attempt for every online student, once');
});
