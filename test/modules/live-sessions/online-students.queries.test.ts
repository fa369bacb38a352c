import type { Test } from 'tap';
import t from '../../helpers/tap.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { buildTestApp } from '../../helpers/app.js';
import { insertLiveSession } from '../../../server/modules/live-sessions/sessions.queries.js';
import { insertLaunchAttempts } from '../../../server/modules/live-sessions/launches.queries.js';
import type { SqlRunner } from '../../../server/platform/db/sql.js';

// A lecture starts minutes after its students enrolled, when PostgreSQL's statistics on the
// enrollments are missing or stale. Its start and its launches take the ids of everyone online.
// Twice a plan chosen on such statistics was quadratic: a nested semi-join re-reading the id list
// per enrollment (no statistics: the statement timeout), then, in the benchmark, a nested loop
// re-reading the de-duplicated list per enrollment (3.6 s at 10,000). So the test holds each plan
// to work proportional to the students, with no statistics and with the planner held to nested loops.
const STUDENTS = 10_000;
const { app } = await buildTestApp(t, 'online-students');
const db = app.orm.em.fork();
// No autovacuum on this test's own table, so no ANALYZE gives it statistics behind our back.
await db.execute('ALTER TABLE enrollments SET (autovacuum_enabled = false)');
const [{ id: instructorId }] = await db.execute<Array<{ id: string }>>(
  `INSERT INTO users (email, password_hash, full_name, role) VALUES ('lecturer@example.com', 'x', 'Lecturer', 'instructor') RETURNING id`,
);

/** A published course of `STUDENTS` enrolled students (the lecture). */
async function lecture(slug: string): Promise<{ courseId: string; students: string[] }> {
  const [{ id: courseId }] = await db.execute<Array<{ id: string }>>(
    `INSERT INTO courses (title, slug, instructor_id, is_published) VALUES ('Lecture', ?, ?, true) RETURNING id`,
    [slug, instructorId],
  );
  const students = await db.execute<Array<{ id: string }>>(
    `INSERT INTO users (email, password_hash, full_name) SELECT ? || i || '@example.com', 'x', 'Listener' FROM generate_series(1, ?::int) i RETURNING id`,
    [slug, STUDENTS],
  );
  await db.execute(`INSERT INTO enrollments (student_id, course_id) SELECT value::uuid, ? FROM jsonb_array_elements_text(?::jsonb)`, [
    courseId,
    JSON.stringify(students.map((row) => row.id)),
  ]);
  return { courseId, students: students.map((row) => row.id) };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'CTE Name'?: string;
  'Index Name'?: string;
  /** Per loop, as the rows removed. */
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}
const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/** The rows a node produced and threw away over all its loops: quadratic plans show here. */
const rowsTouched = (node: PlanNode) =>
  (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Join Filter'] ?? 0)) * node['Actual Loops'];

/** Nodes that touched more than a few rows per student. */
function overworked(plan: PlanNode): string[] {
  return nodes(plan)
    .filter((node) => rowsTouched(node) > 3 * STUDENTS)
    .map((node) => `${node['Node Type']} ${node['CTE Name'] ?? node['Index Name'] ?? node['Relation Name'] ?? ''}: ${rowsTouched(node)} rows`);
}

/**
 * An EntityManager whose `execute` runs each statement under `EXPLAIN ANALYZE` (so it still
 * writes), with the planner `settings` of the state under test, and keeps the plan.
 */
function explaining(plans: PlanNode[], settings: string[]): EntityManager & SqlRunner {
  return {
    execute: (sql: string, params: unknown[]) =>
      db.transactional(async (tx) => {
        for (const setting of settings) await tx.execute(`SET LOCAL ${setting}`);
        const [row] = await tx.execute<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
        plans.push(row!['QUERY PLAN'][0]!.Plan);
        return [];
      }),
  } as unknown as EntityManager & SqlRunner;
}

async function startAndLaunch(t: Test, state: string, slug: string, settings: string[] = []) {
  const { courseId, students } = await lecture(slug);

  await t.test(`starting a live session touches each online student a few times (${state})`, async (t) => {
    const plans: PlanNode[] = [];
    // Everyone online, plus one id twice and one who is not enrolled.
    await insertLiveSession(explaining(plans, settings), courseId, instructorId, [...students, students[0]!, instructorId]);
    t.equal(plans.length, 1);
    t.same(overworked(plans[0]!), [], 'no node does work quadratic in the students');
    const [{ n }] = await db.execute<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM live_session_attendance a JOIN live_sessions s ON s.id = a.session_id WHERE s.course_id = ?`,
      [courseId],
    );
    t.equal(n, STUDENTS, 'every online student attends, once');
  });

  await t.test(`launching a quiz to everyone online too (${state})`, async (t) => {
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
    await insertLaunchAttempts(explaining(plans, settings), launchId, [...students, students[0]!], { shared: [] });
    // Among them: never a walk of the quiz's attempts index (which the statement fills as it goes) per student.
    t.same(overworked(plans[0]!), [], 'no node does work quadratic in the students');
    const [{ n }] = await db.execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM quiz_attempts WHERE launch_id = ?`, [launchId]);
    t.equal(n, STUDENTS, 'an attempt for every online student, once');
  });
}

t.test('no statistics on the enrollments', (t) => startAndLaunch(t, 'no statistics', 'first'));
t.test('nested loops only', async (t) => {
  // The plan the benchmark's PostgreSQL chose on its estimates, made the cheapest here by ruling out
  // the others: the course's enrollments outside a nested loop, each joined to the online ids inside.
  await startAndLaunch(t, 'nested loops only', 'third', ['enable_hashjoin = off', 'enable_mergejoin = off', 'enable_indexscan = off']);
});
