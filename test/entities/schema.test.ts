import t from '../helpers/tap.js';
import pg from 'pg';
import { MikroORM } from '@mikro-orm/postgresql';
import { migrateDown, migrateUp } from '../../server/platform/db/database.js';
import { ormOptions } from '../../server/platform/db/orm-options.js';
import {
  ATTEMPT_STATUSES,
  Certificate,
  Course,
  DIFFICULTY_LEVELS,
  ENROLLMENT_STATUSES,
  Enrollment,
  LESSON_PROGRESS_STATUSES,
  LESSON_TYPES,
  OVERDUE_HANDLINGS,
  LIVE_SESSION_STATUSES,
  QUESTION_TYPES,
  QUIZ_TYPES,
  Quiz,
  REGRADE_STATUSES,
  STORAGE_PROVIDERS,
  USER_ROLES,
  User,
} from '../../entities/index.js';
import { createTestDatabase } from '../helpers/database.js';

const INITIAL = 'Migration20261125000000_initial';
const FILES_COURSE = 'Migration20261125010000_files_course';
const REFRESH_ROTATION = 'Migration20261205000001_refresh_token_rotation';
const CERTIFICATE_NAMES = 'Migration20261205000002_certificate_names';
const PROGRESS_CLIENT_KEYS = 'Migration20261205000002_progress_client_keys';
const OVERDUE_POLICY = 'Migration20261206000001_overdue_policy';
const LIVE_SESSIONS = 'Migration20261206000002_live_sessions';
const REGRADES = 'Migration20261206000004_regrades';
/** Every migration, in the order they apply. */
const MIGRATIONS = [INITIAL, FILES_COURSE, REFRESH_ROTATION, CERTIFICATE_NAMES, PROGRESS_CLIENT_KEYS, OVERDUE_POLICY, LIVE_SESSIONS, REGRADES];

const db = await createTestDatabase('schema');
t.teardown(() => db.drop());
const config = { databaseUrl: db.url, dbPoolMax: 4 };

const client = new pg.Client({ connectionString: db.url });
await client.connect();
t.teardown(() => client.end());

async function rows<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query(sql, params)).rows as T[];
}

async function ourTables(): Promise<string[]> {
  const found = await rows<{ table_name: string }>(
    `select table_name from information_schema.tables
     where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by table_name`,
  );
  return found.map((row) => row.table_name);
}

const EXPECTED_COLUMNS: Record<string, string[]> = {
  users: ['id', 'email', 'password_hash', 'full_name', 'role', 'is_active', 'metadata', 'created_at', 'updated_at', 'last_login_at'],
  refresh_tokens: ['id', 'user_id', 'token_jti', 'expires_at', 'revoked_at', 'created_at', 'user_agent', 'ip_address', 'rotated_at'],
  courses: [
    'id',
    'title',
    'slug',
    'description',
    'instructor_id',
    'category',
    'difficulty_level',
    'is_published',
    'thumbnail_url',
    'estimated_duration_minutes',
    'metadata',
    'created_at',
    'updated_at',
  ],
  lessons: [
    'id',
    'course_id',
    'title',
    'slug',
    'description',
    'content',
    'lesson_type',
    'order_index',
    'parent_lesson_id',
    'duration_minutes',
    'video_url',
    'is_preview',
    'metadata',
    'created_at',
    'updated_at',
  ],
  enrollments: [
    'id',
    'student_id',
    'course_id',
    'status',
    'progress_percentage',
    'completed_lessons_count',
    'total_lessons_count',
    'total_time_spent_seconds',
    'rating',
    'review',
    'certificate_issued_at',
    'created_at',
    'updated_at',
    'completed_at',
  ],
  lesson_progress: [
    'id',
    'enrollment_id',
    'lesson_id',
    'status',
    'started_at',
    'completed_at',
    'time_spent_seconds',
    'completion_percentage',
    'created_at',
    'updated_at',
  ],
  quizzes: [
    'id',
    'lesson_id',
    'title',
    'description',
    'quiz_type',
    'passing_score',
    'time_limit_minutes',
    'time_limit_seconds',
    'max_attempts',
    'shuffle_questions',
    'shuffle_options',
    'show_correct_answers',
    'is_published',
    'metadata',
    'created_at',
    'updated_at',
    'overdue_handling',
    'grace_period_seconds',
    'key_version',
  ],
  quiz_questions: [
    'id',
    'quiz_id',
    'question_text',
    'question_type',
    'points',
    'order_index',
    'options',
    'correct_answer',
    'explanation',
    'created_at',
    'updated_at',
  ],
  quiz_attempts: [
    'id',
    'enrollment_id',
    'quiz_id',
    'attempt_number',
    'status',
    'started_at',
    'deadline',
    'submitted_at',
    'graded_at',
    'score',
    'max_score',
    'percentage',
    'is_passed',
    'time_taken_seconds',
    'answers',
    'question_order',
    'results',
    'auto_submitted',
    'created_at',
    'overdue_handling',
    'grace_period_seconds',
    'submit_until',
    'launch_id',
  ],
  uploaded_files: [
    'id',
    'uploader_id',
    'filename',
    'original_filename',
    'file_url',
    'storage_path',
    'file_type',
    'mime_type',
    'file_size',
    'folder',
    'storage_provider',
    'is_public',
    'created_at',
    'course_id',
  ],
  certificates: [
    'id',
    'enrollment_id',
    'student_id',
    'course_id',
    'certificate_number',
    'pdf_path',
    'completion_date',
    'issued_at',
    'is_revoked',
    'revoked_at',
    'student_name',
    'course_title',
    'instructor_name',
  ],
  progress_client_keys: ['enrollment_id', 'client_key', 'created_at'],
  quiz_overrides: ['quiz_id', 'student_id', 'extra_attempts', 'extra_time_seconds', 'created_at', 'updated_at'],
  idempotency_keys: ['scope', 'key', 'status_code', 'response', 'created_at'],
  live_sessions: ['id', 'course_id', 'started_by', 'status', 'current_lesson_id', 'started_at', 'ended_at', 'last_activity_at'],
  live_session_attendance: ['session_id', 'user_id', 'first_seen_at', 'last_seen_at'],
  quiz_launches: [
    'id',
    'session_id',
    'quiz_id',
    'launched_by',
    'opens_at',
    'closes_at',
    'closed_at',
    'student_offsets',
    'summary',
    'summarized_at',
    'created_at',
  ],
  quiz_regrades: [
    'id',
    'quiz_id',
    'key_version',
    'status',
    'requested_by',
    'total',
    'processed',
    'changed',
    'last_attempt_id',
    'started_at',
    'finished_at',
    'error',
    'created_at',
  ],
  attempt_regrades: [
    'id',
    'regrade_id',
    'attempt_id',
    'old_score',
    'new_score',
    'old_max_score',
    'new_max_score',
    'old_percentage',
    'new_percentage',
    'old_passed',
    'new_passed',
    'requested_by',
    'created_at',
  ],
};

const EXPECTED_INDEXES = [
  'users_email_unique',
  'refresh_tokens_token_jti_unique',
  'refresh_tokens_user_id_index',
  'courses_slug_unique',
  'courses_instructor_id_index',
  'courses_category_index',
  'courses_is_published_index',
  'lessons_course_id_index',
  'lessons_parent_lesson_id_index',
  'lessons_course_id_slug_unique',
  'quizzes_lesson_id_unique',
  'quiz_questions_quiz_id_index',
  'enrollments_student_id_index',
  'enrollments_course_id_index',
  'enrollments_student_id_course_id_unique',
  'lesson_progress_enrollment_id_index',
  'lesson_progress_lesson_id_index',
  'lesson_progress_enrollment_id_lesson_id_unique',
  'quiz_attempts_enrollment_id_index',
  'quiz_attempts_quiz_id_index',
  'quiz_attempts_enrollment_id_quiz_id_attempt_number_unique',
  'quiz_attempts_one_in_progress_idx',
  'quiz_attempts_deadline_in_progress_idx',
  'uploaded_files_uploader_id_index',
  'uploaded_files_course_id_index',
  'certificates_enrollment_id_unique',
  'certificates_certificate_number_unique',
  'certificates_student_id_index',
  'certificates_course_id_index',
  'progress_client_keys_pkey',
  'progress_client_keys_created_at_index',
  'quiz_overrides_pkey',
  'quiz_overrides_student_id_index',
  'idempotency_keys_pkey',
  'idempotency_keys_created_at_index',
  'quiz_attempts_launch_id_enrollment_id_unique',
  'live_sessions_course_id_started_at_index',
  'live_sessions_started_by_index',
  'live_sessions_current_lesson_id_index',
  'live_sessions_one_live_per_course_idx',
  'live_sessions_last_activity_live_idx',
  'live_session_attendance_pkey',
  'live_session_attendance_user_id_index',
  'quiz_launches_session_id_index',
  'quiz_launches_quiz_id_index',
  'quiz_launches_launched_by_index',
  'quiz_launches_one_open_per_session_idx',
  'quiz_regrades_quiz_id_key_version_unique',
  'quiz_regrades_requested_by_index',
  'quiz_regrades_one_active_per_quiz_idx',
  'attempt_regrades_regrade_id_attempt_id_unique',
  'attempt_regrades_attempt_id_index',
  'attempt_regrades_requested_by_index',
];

const EXPECTED_UNIQUE_CONSTRAINTS = [
  'users_email_unique',
  'refresh_tokens_token_jti_unique',
  'courses_slug_unique',
  'lessons_course_id_slug_unique',
  'quizzes_lesson_id_unique',
  'enrollments_student_id_course_id_unique',
  'lesson_progress_enrollment_id_lesson_id_unique',
  'quiz_attempts_enrollment_id_quiz_id_attempt_number_unique',
  'certificates_enrollment_id_unique',
  'certificates_certificate_number_unique',
  'quiz_attempts_launch_id_enrollment_id_unique',
  'quiz_regrades_quiz_id_key_version_unique',
  'attempt_regrades_regrade_id_attempt_id_unique',
];

/** FK name → ON DELETE rule (pg_constraint.confdeltype: c cascade, a no action, n set null). */
const EXPECTED_FOREIGN_KEYS: Record<string, 'c' | 'a' | 'n'> = {
  refresh_tokens_user_id_foreign: 'c',
  courses_instructor_id_foreign: 'a',
  lessons_course_id_foreign: 'c',
  lessons_parent_lesson_id_foreign: 'n',
  quizzes_lesson_id_foreign: 'c',
  quiz_questions_quiz_id_foreign: 'c',
  enrollments_student_id_foreign: 'a',
  enrollments_course_id_foreign: 'a',
  lesson_progress_enrollment_id_foreign: 'c',
  lesson_progress_lesson_id_foreign: 'a',
  quiz_attempts_enrollment_id_foreign: 'a',
  quiz_attempts_quiz_id_foreign: 'a',
  uploaded_files_uploader_id_foreign: 'a',
  uploaded_files_course_id_foreign: 'n',
  certificates_enrollment_id_foreign: 'a',
  certificates_student_id_foreign: 'a',
  certificates_course_id_foreign: 'a',
  progress_client_keys_enrollment_id_foreign: 'c',
  quiz_overrides_quiz_id_foreign: 'c',
  quiz_overrides_student_id_foreign: 'c',
  live_sessions_course_id_foreign: 'c',
  live_sessions_started_by_foreign: 'n',
  live_sessions_current_lesson_id_foreign: 'n',
  live_session_attendance_session_id_foreign: 'c',
  live_session_attendance_user_id_foreign: 'c',
  quiz_launches_session_id_foreign: 'c',
  quiz_launches_quiz_id_foreign: 'c',
  quiz_launches_launched_by_foreign: 'n',
  quiz_attempts_launch_id_foreign: 'a',
  quiz_regrades_quiz_id_foreign: 'c',
  quiz_regrades_requested_by_foreign: 'n',
  attempt_regrades_regrade_id_foreign: 'c',
  attempt_regrades_attempt_id_foreign: 'c',
  attempt_regrades_requested_by_foreign: 'n',
};

/** How PostgreSQL prints a `varchar in (...)` CHECK back. */
function varcharInCheck(column: string, values: readonly string[]): string {
  const items = values.map((value) => `'${value}'::character varying`).join(', ');
  return `CHECK (((${column})::text = ANY ((ARRAY[${items}])::text[])))`;
}

const ENUM_CHECKS: Record<string, string> = {
  users_role_check: varcharInCheck('role', USER_ROLES),
  courses_difficulty_level_check: varcharInCheck('difficulty_level', DIFFICULTY_LEVELS),
  lessons_lesson_type_check: varcharInCheck('lesson_type', LESSON_TYPES),
  enrollments_status_check: varcharInCheck('status', ENROLLMENT_STATUSES),
  lesson_progress_status_check: varcharInCheck('status', LESSON_PROGRESS_STATUSES),
  quizzes_quiz_type_check: varcharInCheck('quiz_type', QUIZ_TYPES),
  quiz_attempts_status_check: varcharInCheck('status', ATTEMPT_STATUSES),
  quizzes_overdue_handling_check: varcharInCheck('overdue_handling', OVERDUE_HANDLINGS),
  quiz_attempts_overdue_handling_check: varcharInCheck('overdue_handling', OVERDUE_HANDLINGS),
  quiz_questions_question_type_check: varcharInCheck('question_type', QUESTION_TYPES),
  uploaded_files_storage_provider_check: varcharInCheck('storage_provider', STORAGE_PROVIDERS),
  live_sessions_status_check: varcharInCheck('status', LIVE_SESSION_STATUSES),
  quiz_regrades_status_check: varcharInCheck('status', REGRADE_STATUSES),
};

const RANGE_CHECKS = [
  'users_email_lowercase_check',
  'enrollments_rating_check',
  'enrollments_progress_percentage_check',
  'lesson_progress_completion_percentage_check',
  'quiz_attempts_percentage_check',
  'quizzes_passing_score_check',
  'quizzes_max_attempts_check',
  'quizzes_time_limit_minutes_check',
  'quizzes_time_limit_seconds_check',
  'quiz_questions_points_check',
  'lessons_order_index_check',
  'quizzes_grace_period_seconds_check',
  'quiz_attempts_grace_period_seconds_check',
  'quiz_overrides_extra_attempts_check',
  'quiz_overrides_extra_time_seconds_check',
  'quiz_launches_window_check',
  'quizzes_key_version_check',
  'quiz_regrades_counts_check',
];

await t.test('migrateUp applies every migration to a fresh database', async (t) => {
  t.same(await migrateUp(config), MIGRATIONS);
  t.same(await migrateUp(config), [], 'a second run has nothing to do');
  t.same(await ourTables(), Object.keys(EXPECTED_COLUMNS).sort());
});

await t.test('every table has exactly the seed columns, in order', async (t) => {
  for (const [table, expected] of Object.entries(EXPECTED_COLUMNS)) {
    const found = await rows<{ column_name: string }>(
      `select column_name from information_schema.columns
       where table_schema = 'public' and table_name = $1 order by ordinal_position`,
      [table],
    );
    t.same(
      found.map((row) => row.column_name),
      expected,
      table,
    );
  }
});

await t.test('column types, nullability and defaults', async (t) => {
  const columns = await rows<{
    table_name: string;
    column_name: string;
    type: string;
    is_nullable: 'YES' | 'NO';
    column_default: string | null;
  }>(
    `select c.table_name, c.column_name, format_type(a.atttypid, a.atttypmod) as type, c.is_nullable, c.column_default
     from information_schema.columns c
     join pg_attribute a on a.attrelid = ('public.' || c.table_name)::regclass and a.attname = c.column_name
     where c.table_schema = 'public' and c.table_name <> 'mikro_orm_migrations'`,
  );
  const column = (table: string, name: string) => {
    const found = columns.find((c) => c.table_name === table && c.column_name === name);
    if (!found) throw new Error(`no column ${table}.${name}`);
    return { type: found.type, nullable: found.is_nullable === 'YES', default: found.column_default };
  };

  t.same(column('users', 'id'), { type: 'uuid', nullable: false, default: 'gen_random_uuid()' });
  t.same(column('users', 'email'), { type: 'character varying(255)', nullable: false, default: null });
  t.same(column('users', 'role'), { type: 'character varying(50)', nullable: false, default: `'student'::character varying` });
  t.same(column('users', 'metadata'), { type: 'jsonb', nullable: false, default: `'{}'::jsonb` });
  t.same(column('users', 'created_at'), { type: 'timestamp with time zone', nullable: false, default: 'now()' });
  t.same(column('users', 'last_login_at'), { type: 'timestamp with time zone', nullable: true, default: null });
  t.same(column('courses', 'difficulty_level'), { type: 'character varying(50)', nullable: true, default: null });
  t.same(column('enrollments', 'progress_percentage'), { type: 'numeric(5,2)', nullable: false, default: '0' });
  t.same(column('enrollments', 'total_time_spent_seconds'), { type: 'integer', nullable: false, default: '0' });
  t.same(column('quiz_attempts', 'score'), { type: 'numeric(10,2)', nullable: true, default: null });
  t.same(column('quiz_attempts', 'deadline'), { type: 'timestamp with time zone', nullable: true, default: null });
  t.same(column('quiz_attempts', 'question_order'), { type: 'jsonb', nullable: true, default: null });
  t.same(column('quiz_attempts', 'auto_submitted'), { type: 'boolean', nullable: false, default: 'false' });
  t.same(column('quizzes', 'passing_score'), { type: 'integer', nullable: false, default: '70' });
  t.same(column('quizzes', 'time_limit_seconds'), { type: 'integer', nullable: true, default: null });
  t.same(column('quizzes', 'max_attempts'), { type: 'integer', nullable: true, default: '3' }, 'null = unlimited');
  t.same(column('uploaded_files', 'course_id'), { type: 'uuid', nullable: true, default: null });
  t.same(column('uploaded_files', 'storage_provider'), { type: 'character varying(50)', nullable: false, default: `'local'::character varying` });
  t.same(column('certificates', 'issued_at'), { type: 'timestamp with time zone', nullable: false, default: 'now()' });

  const nullableWithDefault = columns.filter((c) => c.column_default !== null && c.is_nullable === 'YES').map((c) => `${c.table_name}.${c.column_name}`);
  t.same(nullableWithDefault, ['quizzes.max_attempts'], 'a column with a default is NOT NULL, but for max_attempts');

  const naiveTimestamps = columns.filter((c) => c.type.startsWith('timestamp without'));
  t.same(naiveTimestamps, [], 'every datetime is timestamptz');

  const uuidKeysWithoutDefault = columns.filter((c) => c.column_name === 'id' && c.column_default !== 'gen_random_uuid()');
  t.same(uuidKeysWithoutDefault, [], 'every key defaults to gen_random_uuid()');
});

await t.test('indexes and constraints exist under their names', async (t) => {
  const indexes = (await rows<{ indexname: string }>(`select indexname from pg_indexes where schemaname = 'public'`)).map((row) => row.indexname);
  for (const name of EXPECTED_INDEXES) t.ok(indexes.includes(name), `index ${name}`);

  const partial = await rows<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes where indexname in ('quiz_attempts_one_in_progress_idx', 'quiz_attempts_deadline_in_progress_idx') order by indexname`,
  );
  t.same(partial, [
    {
      indexname: 'quiz_attempts_deadline_in_progress_idx',
      indexdef: `CREATE INDEX quiz_attempts_deadline_in_progress_idx ON public.quiz_attempts USING btree (deadline) WHERE ((status)::text = 'in_progress'::text)`,
    },
    {
      indexname: 'quiz_attempts_one_in_progress_idx',
      indexdef: `CREATE UNIQUE INDEX quiz_attempts_one_in_progress_idx ON public.quiz_attempts USING btree (enrollment_id, quiz_id) WHERE ((status)::text = 'in_progress'::text)`,
    },
  ]);

  const constraints = await rows<{ conname: string; contype: string; confdeltype: string; def: string }>(
    `select conname, contype, confdeltype, pg_get_constraintdef(oid) as def
     from pg_constraint where connamespace = 'public'::regnamespace`,
  );
  const byName = new Map(constraints.map((c) => [c.conname, c]));

  for (const name of EXPECTED_UNIQUE_CONSTRAINTS) t.equal(byName.get(name)?.contype, 'u', `unique ${name}`);
  for (const [name, rule] of Object.entries(EXPECTED_FOREIGN_KEYS)) {
    t.equal(byName.get(name)?.contype, 'f', `foreign key ${name}`);
    t.equal(byName.get(name)?.confdeltype, rule, `${name} on delete`);
  }
  t.equal(constraints.filter((c) => c.contype === 'f').length, Object.keys(EXPECTED_FOREIGN_KEYS).length, 'no other FKs');
  for (const [name, def] of Object.entries(ENUM_CHECKS)) t.equal(byName.get(name)?.def, def, `enum check ${name}`);
  for (const name of RANGE_CHECKS) t.equal(byName.get(name)?.contype, 'c', `check ${name}`);

  // Every FK column leads some index, so joins and ON DELETE checks never scan the table.
  const unindexed = await rows(
    `select con.conrelid::regclass::text as table_name, a.attname as column_name
     from pg_constraint con
     join pg_attribute a on a.attrelid = con.conrelid and a.attnum = con.conkey[1]
     where con.contype = 'f' and con.connamespace = 'public'::regnamespace
       and not exists (select 1 from pg_index i where i.indrelid = con.conrelid and i.indkey[0] = con.conkey[1])`,
  );
  t.same(unindexed, [], 'every foreign key column is indexed');
});

await t.test('entity CHECK expressions read back exactly as PostgreSQL prints them', async (t) => {
  const orm = await MikroORM.init(ormOptions(config));
  t.teardown(() => orm.close(true));
  const defs = new Map(
    (
      await rows<{ conname: string; def: string }>(
        `select conname, pg_get_constraintdef(oid) as def from pg_constraint where contype = 'c' and connamespace = 'public'::regnamespace`,
      )
    ).map((row) => [row.conname, row.def]),
  );
  let count = 0;
  for (const meta of Object.values(orm.getMetadata().getAll())) {
    for (const check of meta.checks) {
      count++;
      t.equal(defs.get(String(check.name)), `CHECK (${String(check.expression)})`, String(check.name));
    }
  }
  t.ok(count >= RANGE_CHECKS.length, 'entities declare their checks');
});

await t.test("MikroORM's schema diff against the entities is empty", async (t) => {
  const orm = await MikroORM.init(ormOptions(config));
  t.teardown(() => orm.close(true));
  const diff = () => orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
  t.equal((await diff()).trim(), '');

  // The empty diff is not vacuous: MikroORM does notice a missing index or CHECK.
  await client.query('drop index courses_category_index');
  t.match(await diff(), /create index "courses_category_index"/);
  await client.query('create index "courses_category_index" on "courses" ("category")');
  await client.query('alter table users drop constraint users_role_check');
  t.match(await diff(), /users_role_check/);
  await client.query(`alter table users add constraint users_role_check check ("role" in ('admin', 'instructor', 'student'))`);
  await client.query('alter table enrollments drop constraint enrollments_rating_check');
  t.match(await diff(), /enrollments_rating_check/);
  await client.query('alter table enrollments add constraint enrollments_rating_check check (rating between 1 and 5)');
  t.equal((await diff()).trim(), '', 'empty again once restored');
});

await t.test('constraints bite', async (t) => {
  const one = async (sql: string, params: unknown[] = []) => (await rows<{ id: string }>(sql, params))[0]!.id;
  const instructor = await one(`insert into users (email, password_hash, full_name, role) values ('teacher@example.com', 'x', 'T', 'instructor') returning id`);
  const student = await one(`insert into users (email, password_hash, full_name) values ('pupil@example.com', 'x', 'P') returning id`);
  const course = await one(`insert into courses (title, slug, instructor_id) values ('SQL', 'sql-bites', $1) returning id`, [instructor]);
  const lesson = await one(`insert into lessons (course_id, title, slug) values ($1, 'L', 'l') returning id`, [course]);
  const quiz = await one(`insert into quizzes (lesson_id, title) values ($1, 'Q') returning id`, [lesson]);
  const enrollment = await one(`insert into enrollments (student_id, course_id) values ($1, $2) returning id`, [student, course]);
  await client.query(`insert into quiz_attempts (enrollment_id, quiz_id, attempt_number, started_at) values ($1, $2, 1, now())`, [enrollment, quiz]);

  await client.query(`insert into progress_client_keys (enrollment_id, client_key) values ($1, '4c1f4b38-1d6e-4f0a-9d57-0e0f1f2a3b4c')`, [enrollment]);
  const session = await one(`insert into live_sessions (course_id, started_by) values ($1, $2) returning id`, [course, instructor]);
  const launch = await one(`insert into quiz_launches (session_id, quiz_id, closes_at) values ($1, $2, now() + interval '1 minute') returning id`, [
    session,
    quiz,
  ]);
  await client.query(
    `insert into quiz_attempts (enrollment_id, quiz_id, attempt_number, started_at, status, launch_id) values ($1, $2, 5, now(), 'graded', $3)`,
    [enrollment, quiz, launch],
  );
  const regrade = await one(`insert into quiz_regrades (quiz_id, key_version, status) values ($1, 1, 'queued') returning id`, [quiz]);
  await client.query(
    `insert into attempt_regrades (regrade_id, attempt_id, old_score, new_score, old_max_score, new_max_score, old_percentage, new_percentage, old_passed, new_passed)
     select $1, id, 0, 1, 1, 1, 0, 100, false, true from quiz_attempts where enrollment_id = $2 and attempt_number = 1`,
    [regrade, enrollment],
  );
  const cases: Array<[string, string, unknown[], string]> = [
    [
      'a progress clientKey used twice',
      `insert into progress_client_keys (enrollment_id, client_key) values ($1, '4c1f4b38-1d6e-4f0a-9d57-0e0f1f2a3b4c')`,
      [enrollment],
      'progress_client_keys_pkey',
    ],
    ['upper-case email', `insert into users (email, password_hash, full_name) values ('Someone@Example.com', 'x', 'S')`, [], 'users_email_lowercase_check'],
    ['duplicate email', `insert into users (email, password_hash, full_name) values ('pupil@example.com', 'x', 'S')`, [], 'users_email_unique'],
    ['invalid role', `insert into users (email, password_hash, full_name, role) values ('root@example.com', 'x', 'R', 'root')`, [], 'users_role_check'],
    ['rating 6', `update enrollments set rating = 6 where id = $1`, [enrollment], 'enrollments_rating_check'],
    ['progress over 100', `update enrollments set progress_percentage = 100.01 where id = $1`, [enrollment], 'enrollments_progress_percentage_check'],
    ['duplicate enrollment', `insert into enrollments (student_id, course_id) values ($1, $2)`, [student, course], 'enrollments_student_id_course_id_unique'],
    [
      'second in_progress attempt',
      `insert into quiz_attempts (enrollment_id, quiz_id, attempt_number, started_at) values ($1, $2, 2, now())`,
      [enrollment, quiz],
      'quiz_attempts_one_in_progress_idx',
    ],
    [
      'duplicate attempt number',
      `insert into quiz_attempts (enrollment_id, quiz_id, attempt_number, started_at, status) values ($1, $2, 1, now(), 'graded')`,
      [enrollment, quiz],
      'quiz_attempts_enrollment_id_quiz_id_attempt_number_unique',
    ],
    ['second quiz on a lesson', `insert into quizzes (lesson_id, title) values ($1, 'Q2')`, [lesson], 'quizzes_lesson_id_unique'],
    ['duplicate lesson slug', `insert into lessons (course_id, title, slug) values ($1, 'L', 'l')`, [course], 'lessons_course_id_slug_unique'],
    ['invalid lesson type', `insert into lessons (course_id, title, slug, lesson_type) values ($1, 'L', 'l2', 'movie')`, [course], 'lessons_lesson_type_check'],
    ['passing score 101', `update quizzes set passing_score = 101 where id = $1`, [quiz], 'quizzes_passing_score_check'],
    ['zero attempts allowed', `update quizzes set max_attempts = 0 where id = $1`, [quiz], 'quizzes_max_attempts_check'],
    ['unknown overdue handling', `update quizzes set overdue_handling = 'ignore' where id = $1`, [quiz], 'quizzes_overdue_handling_check'],
    ['negative grace period', `update quizzes set grace_period_seconds = -1 where id = $1`, [quiz], 'quizzes_grace_period_seconds_check'],
    ['unknown attempt status', `update quiz_attempts set status = 'lost' where enrollment_id = $1`, [enrollment], 'quiz_attempts_status_check'],
    [
      'negative extra attempts',
      `insert into quiz_overrides (quiz_id, student_id, extra_attempts) values ($1, $2, -1)`,
      [quiz, student],
      'quiz_overrides_extra_attempts_check',
    ],
    ['course with enrollments', `delete from courses where id = $1`, [course], 'enrollments_course_id_foreign'],
    ['a second live session of a course', `insert into live_sessions (course_id) values ($1)`, [course], 'live_sessions_one_live_per_course_idx'],
    ['an unknown session status', `update live_sessions set status = 'paused' where id = $1`, [session], 'live_sessions_status_check'],
    [
      'a second open launch in a session',
      `insert into quiz_launches (session_id, quiz_id, closes_at) values ($1, $2, now() + interval '1 minute')`,
      [session, quiz],
      'quiz_launches_one_open_per_session_idx',
    ],
    ['a launch window closing before it opens', `update quiz_launches set closes_at = opens_at where id = $1`, [launch], 'quiz_launches_window_check'],
    [
      'a second attempt of one student in one launch',
      `insert into quiz_attempts (enrollment_id, quiz_id, attempt_number, started_at, status, launch_id) values ($1, $2, 6, now(), 'graded', $3)`,
      [enrollment, quiz, launch],
      'quiz_attempts_launch_id_enrollment_id_unique',
    ],
    ['key version 0', `update quizzes set key_version = 0 where id = $1`, [quiz], 'quizzes_key_version_check'],
    [
      'a second regrade of one key version',
      `insert into quiz_regrades (quiz_id, key_version, status) values ($1, 1, 'done')`,
      [quiz],
      'quiz_regrades_quiz_id_key_version_unique',
    ],
    [
      'a second running regrade of a quiz',
      `insert into quiz_regrades (quiz_id, key_version, status) values ($1, 2, 'running')`,
      [quiz],
      'quiz_regrades_one_active_per_quiz_idx',
    ],
    ['an unknown regrade status', `update quiz_regrades set status = 'paused' where id = $1`, [regrade], 'quiz_regrades_status_check'],
    ['more changed than processed', `update quiz_regrades set changed = processed + 1 where id = $1`, [regrade], 'quiz_regrades_counts_check'],
    [
      'a second history row of one attempt in one regrade',
      `insert into attempt_regrades (regrade_id, attempt_id, old_score, new_score, old_max_score, new_max_score, old_percentage, new_percentage, old_passed, new_passed)
       select $1, attempt_id, 0, 1, 1, 1, 0, 100, false, true from attempt_regrades where regrade_id = $1`,
      [regrade],
      'attempt_regrades_regrade_id_attempt_id_unique',
    ],
  ];
  for (const [label, sql, params, constraint] of cases) {
    const error = await client.query(sql, params).then(
      () => undefined,
      (error: unknown) => error as pg.DatabaseError,
    );
    t.equal(error?.constraint, constraint, label);
  }

  await client.query(`update quizzes set max_attempts = null where id = $1`, [quiz]);
  await client.query(`update quiz_attempts set status = 'graded' where enrollment_id = $1`, [enrollment]);
  await t.resolves(
    client.query(`insert into quiz_attempts (enrollment_id, quiz_id, attempt_number, started_at) values ($1, $2, 2, now())`, [enrollment, quiz]),
    'a new attempt starts once the previous one is graded',
  );
  await client.query(`update live_sessions set status = 'ended', ended_at = now() where id = $1`, [session]);
  await t.resolves(client.query(`insert into live_sessions (course_id) values ($1)`, [course]), 'a new session starts once the previous one ended');
  await client.query(`update quiz_launches set closed_at = now() where id = $1`, [launch]);
  await t.resolves(
    client.query(`insert into quiz_launches (session_id, quiz_id, closes_at) values ($1, $2, now() + interval '1 minute')`, [session, quiz]),
    'a new launch opens once the previous one closed',
  );
});

await t.test('the ORM maps decimals to numbers and applies the JS-side defaults', async (t) => {
  const orm = await MikroORM.init(ormOptions(config));
  t.teardown(() => orm.close(true));

  const em = orm.em.fork();
  const instructor = em.create(User, { email: 'orm-teacher@example.com', passwordHash: 'x', fullName: 'T', role: 'instructor' });
  const student = em.create(User, { email: 'orm-pupil@example.com', passwordHash: 'x', fullName: 'P' });
  const course = em.create(Course, { title: 'ORM', slug: 'orm', instructor });
  const enrollment = em.create(Enrollment, { student, course, progressPercentage: 42.5 });
  const limited = em.create(Quiz, { title: 'default attempts' });
  const unlimited = em.create(Quiz, { title: 'unlimited attempts', maxAttempts: null });
  await em.flush();

  // onCreate hooks run at flush (MikroORM's processOnCreateHooksEarly is off by default).
  t.type(student.id, 'string');
  t.equal(student.role, 'student');
  t.same(student.metadata, {});
  t.equal(student.isActive, true);
  t.equal(enrollment.status, 'active');
  t.ok(enrollment.updatedAt instanceof Date);

  const fresh = orm.em.fork();
  const found = await fresh.findOneOrFail(Enrollment, enrollment.id);
  t.equal(typeof found.progressPercentage, 'number');
  t.equal(found.progressPercentage, 42.5);
  t.equal(found.completedLessonsCount, 0);
  t.ok(found.createdAt instanceof Date);
  t.equal(found.course.id, course.id);
  t.equal((await fresh.findOneOrFail(Quiz, limited.id)).maxAttempts, 3);
  t.equal((await fresh.findOneOrFail(Quiz, unlimited.id)).maxAttempts, null);

  const [raw] = await rows<{ progress_percentage: string; metadata: unknown }>(
    `select e.progress_percentage, u.metadata from enrollments e join users u on u.id = e.student_id where e.id = $1`,
    [enrollment.id],
  );
  t.same(raw, { progress_percentage: '42.50', metadata: {} });
  t.equal(await fresh.count(Certificate), 0);
});

await t.test('deleting a course without enrollments cascades to its lessons, quizzes and questions', async (t) => {
  const one = async (sql: string, params: unknown[] = []) => (await rows<{ id: string }>(sql, params))[0]!.id;
  const instructor = await one(`insert into users (email, password_hash, full_name, role) values ('cascade@example.com', 'x', 'C', 'instructor') returning id`);
  const course = await one(`insert into courses (title, slug, instructor_id) values ('C', 'cascade', $1) returning id`, [instructor]);
  const parent = await one(`insert into lessons (course_id, title, slug) values ($1, 'P', 'p') returning id`, [course]);
  const child = await one(`insert into lessons (course_id, title, slug, parent_lesson_id) values ($1, 'C', 'c', $2) returning id`, [course, parent]);
  const quiz = await one(`insert into quizzes (lesson_id, title) values ($1, 'Q') returning id`, [child]);
  await client.query(
    `insert into quiz_questions (quiz_id, question_text, question_type, correct_answer) values ($1, 'Sky is blue?', 'true_false', 'true'::jsonb)`,
    [quiz],
  );

  await client.query(`delete from lessons where id = $1`, [parent]);
  const [orphan] = await rows<{ parent_lesson_id: string | null }>(`select parent_lesson_id from lessons where id = $1`, [child]);
  t.equal(orphan?.parent_lesson_id, null, "a deleted parent's children move to the top level");

  const file = await one(
    `insert into uploaded_files (uploader_id, filename, original_filename, file_url, storage_path, course_id)
     values ($1, 'f.pdf', 'f.pdf', '/api/files/x/content', 'f.pdf', $2) returning id`,
    [instructor, course],
  );

  await client.query(`delete from courses where id = $1`, [course]);
  const [detached] = await rows<{ course_id: string | null }>(`select course_id from uploaded_files where id = $1`, [file]);
  t.equal(detached?.course_id, null, "a deleted course's files stay, detached from it");
  const [left] = await rows<{ lessons: number; quizzes: number; questions: number }>(
    `select (select count(*)::int from lessons where course_id = $1) as lessons,
            (select count(*)::int from quizzes where id = $2) as quizzes,
            (select count(*)::int from quiz_questions where quiz_id = $2) as questions`,
    [course, quiz],
  );
  t.same(left, { lessons: 0, quizzes: 0, questions: 0 });
});

/** Reverts the last migrations one by one, down to and including `name`; returns what it reverted. */
async function revertThrough(name: string): Promise<string[]> {
  const reverted: string[] = [];
  while (!reverted.includes(name)) {
    const step = await migrateDown(config);
    if (step.length === 0) throw new Error(`${name} was never applied`);
    reverted.push(...step);
  }
  return reverted;
}

await t.test('the certificate names migration copies the current names onto existing certificates, then requires them', async (t) => {
  const reverted = await revertThrough(CERTIFICATE_NAMES);
  const one = async (sql: string, params: unknown[] = []) => (await rows<{ id: string }>(sql, params))[0]!.id;
  const teacher = await one(
    `insert into users (email, password_hash, full_name, role) values ('names-t@example.com', 'x', 'Tess Teacher', 'instructor') returning id`,
  );
  const learner = await one(`insert into users (email, password_hash, full_name) values ('names-s@example.com', 'x', 'Sol Student') returning id`);
  const course = await one(`insert into courses (title, slug, instructor_id) values ('Named Course', 'named-course', $1) returning id`, [teacher]);
  const enrollment = await one(`insert into enrollments (student_id, course_id, status) values ($1, $2, 'completed') returning id`, [learner, course]);
  const certificate = await one(
    `insert into certificates (enrollment_id, student_id, course_id, certificate_number, completion_date) values ($1, $2, $3, 'CERT-2026-NAME-TEST-0001', now()) returning id`,
    [enrollment, learner, course],
  );
  t.same(await migrateUp(config), [...reverted].reverse());
  const [row] = await rows(`select student_name, course_title, instructor_name from certificates where id = $1`, [certificate]);
  t.same(row, { student_name: 'Sol Student', course_title: 'Named Course', instructor_name: 'Tess Teacher' }, 'backfilled');
  const nullable = await rows<{ column_name: string; is_nullable: string }>(
    `select column_name, is_nullable from information_schema.columns where table_name = 'certificates' and column_name in ('student_name', 'course_title', 'instructor_name') order by column_name`,
  );
  t.same(
    nullable.map((column) => column.is_nullable),
    ['NO', 'NO', 'NO'],
    'NOT NULL',
  );
  await client.query(`delete from certificates where id = $1`, [certificate]);
});

await t.test('the overdue policy migration backfills running attempts with the defaults and reverts', async (t) => {
  const reverted = await revertThrough(OVERDUE_POLICY);
  const one = async (sql: string, params: unknown[] = []) => (await rows<{ id: string }>(sql, params))[0]!.id;
  const instructor = await one(
    `insert into users (email, password_hash, full_name, role) values ('overdue-t@example.com', 'x', 'T', 'instructor') returning id`,
  );
  const student = await one(`insert into users (email, password_hash, full_name) values ('overdue-s@example.com', 'x', 'S') returning id`);
  const course = await one(`insert into courses (title, slug, instructor_id) values ('O', 'overdue-backfill', $1) returning id`, [instructor]);
  const lesson = await one(`insert into lessons (course_id, title, slug) values ($1, 'L', 'l') returning id`, [course]);
  const quiz = await one(`insert into quizzes (lesson_id, title) values ($1, 'Q') returning id`, [lesson]);
  const enrollment = await one(`insert into enrollments (student_id, course_id) values ($1, $2) returning id`, [student, course]);
  const attempt = await one(
    `insert into quiz_attempts (enrollment_id, quiz_id, attempt_number, started_at, deadline) values ($1, $2, 1, now(), '2026-12-06T10:00:00Z') returning id`,
    [enrollment, quiz],
  );
  t.same(await migrateUp(config), [...reverted].reverse());
  const [row] = await rows(`select overdue_handling, grace_period_seconds, submit_until = deadline as window_is_deadline from quiz_attempts where id = $1`, [
    attempt,
  ]);
  t.same(row, { overdue_handling: 'autosubmit', grace_period_seconds: 0, window_is_deadline: true });
  await client.query(`update quiz_attempts set status = 'abandoned' where id = $1`, [attempt]);
  const again = await revertThrough(OVERDUE_POLICY);
  t.equal(again.at(-1), OVERDUE_POLICY);
  const [back] = await rows(`select status from quiz_attempts where id = $1`, [attempt]);
  t.same(back, { status: 'submitted' }, 'abandoned reads as submitted without the new status');
  t.same(await migrateUp(config), [...again].reverse());
  await client.query(`delete from quiz_attempts where id = $1`, [attempt]);
  await client.query(`delete from enrollments where id = $1`, [enrollment]);
  await client.query(`delete from courses where id = $1`, [course]);
});

await t.test('the refresh rotation migration reverts on its own', async (t) => {
  const rotatedAt = async () =>
    (await rows(`select 1 from information_schema.columns where table_name = 'refresh_tokens' and column_name = 'rotated_at'`)).length;
  const reverted = await revertThrough(REFRESH_ROTATION);
  t.equal(reverted.at(-1), REFRESH_ROTATION);
  t.equal(await rotatedAt(), 0, 'refresh_tokens.rotated_at is gone');
  t.same(await migrateUp(config), [...reverted].reverse());
  t.equal(await rotatedAt(), 1, 'and back');
});

await t.test('the files migration reverts on its own', async (t) => {
  const courseColumn = async () =>
    (await rows(`select 1 from information_schema.columns where table_name = 'uploaded_files' and column_name = 'course_id'`)).length;
  const reverted = await revertThrough(FILES_COURSE);
  t.equal(reverted.at(-1), FILES_COURSE);
  t.equal(await courseColumn(), 0, 'uploaded_files.course_id is gone');
  t.same(await migrateUp(config), [...reverted].reverse());
  t.equal(await courseColumn(), 1, 'and back');
});

await t.test('migrateDown to 0 removes every table, and migrateUp rebuilds them', async (t) => {
  t.same(await migrateDown(config, { to: 0 }), [...MIGRATIONS].reverse());
  t.same(await ourTables(), []);
  t.same(await migrateUp(config), MIGRATIONS);
  t.same(await ourTables(), Object.keys(EXPECTED_COLUMNS).sort());

  const orm = await MikroORM.init(ormOptions(config));
  t.teardown(() => orm.close(true));
  t.equal((await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false })).trim(), '', 'still no diff');
});
