import { Migration } from '@mikro-orm/migrations';

/**
 * Live sessions led by an instructor, and the quizzes launched in them.
 *
 * - `live_sessions`: at most one `live` session per course, enforced by a partial unique index,
 *   so two instructors' clicks cannot both start one. The followed lesson is cleared when that
 *   lesson is deleted (`ON DELETE SET NULL`).
 * - `live_session_attendance`: who was online during each session (first and last seen).
 * - `quiz_launches`: one shared window of a quiz; at most one open launch per session (partial
 *   unique index). `student_offsets` holds per-student deadline moves, keyed by user id.
 * - `quiz_attempts.launch_id`: the launch an attempt belongs to; one attempt per student per
 *   launch (unique with the enrollment, which also indexes the foreign key).
 */
export class Migration20261206000002_live_sessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "live_sessions" (
      "id" uuid not null default gen_random_uuid(),
      "course_id" uuid not null,
      "started_by" uuid null,
      "status" varchar(50) not null default 'live',
      "current_lesson_id" uuid null,
      "started_at" timestamptz not null default now(),
      "ended_at" timestamptz null,
      "last_activity_at" timestamptz not null default now(),
      constraint "live_sessions_pkey" primary key ("id"),
      constraint "live_sessions_course_id_foreign" foreign key ("course_id") references "courses" ("id") on update cascade on delete cascade,
      constraint "live_sessions_started_by_foreign" foreign key ("started_by") references "users" ("id") on update cascade on delete set null,
      constraint "live_sessions_current_lesson_id_foreign" foreign key ("current_lesson_id") references "lessons" ("id") on update cascade on delete set null,
      constraint "live_sessions_status_check" check ("status" in ('live', 'ended'))
    );`);
    this.addSql(`create index "live_sessions_course_id_started_at_index" on "live_sessions" ("course_id", "started_at");`);
    this.addSql(`create index "live_sessions_started_by_index" on "live_sessions" ("started_by");`);
    this.addSql(`create index "live_sessions_current_lesson_id_index" on "live_sessions" ("current_lesson_id");`);
    this.addSql(`create unique index "live_sessions_one_live_per_course_idx" on "live_sessions" ("course_id") where ((status)::text = 'live'::text);`);
    this.addSql(`create index "live_sessions_last_activity_live_idx" on "live_sessions" ("last_activity_at") where ((status)::text = 'live'::text);`);

    this.addSql(`create table "live_session_attendance" (
      "session_id" uuid not null,
      "user_id" uuid not null,
      "first_seen_at" timestamptz not null default now(),
      "last_seen_at" timestamptz not null default now(),
      constraint "live_session_attendance_pkey" primary key ("session_id", "user_id"),
      constraint "live_session_attendance_session_id_foreign" foreign key ("session_id") references "live_sessions" ("id") on update cascade on delete cascade,
      constraint "live_session_attendance_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade
    );`);
    this.addSql(`create index "live_session_attendance_user_id_index" on "live_session_attendance" ("user_id");`);

    this.addSql(`create table "quiz_launches" (
      "id" uuid not null default gen_random_uuid(),
      "session_id" uuid not null,
      "quiz_id" uuid not null,
      "launched_by" uuid null,
      "opens_at" timestamptz not null default now(),
      "closes_at" timestamptz not null,
      "closed_at" timestamptz null,
      "student_offsets" jsonb not null default '{}',
      "summary" jsonb null,
      "summarized_at" timestamptz null,
      "created_at" timestamptz not null default now(),
      constraint "quiz_launches_pkey" primary key ("id"),
      constraint "quiz_launches_session_id_foreign" foreign key ("session_id") references "live_sessions" ("id") on update cascade on delete cascade,
      constraint "quiz_launches_quiz_id_foreign" foreign key ("quiz_id") references "quizzes" ("id") on update cascade on delete cascade,
      constraint "quiz_launches_launched_by_foreign" foreign key ("launched_by") references "users" ("id") on update cascade on delete set null,
      constraint "quiz_launches_window_check" check ((closes_at > opens_at))
    );`);
    this.addSql(`create index "quiz_launches_session_id_index" on "quiz_launches" ("session_id");`);
    this.addSql(`create index "quiz_launches_quiz_id_index" on "quiz_launches" ("quiz_id");`);
    this.addSql(`create index "quiz_launches_launched_by_index" on "quiz_launches" ("launched_by");`);
    this.addSql(`create unique index "quiz_launches_one_open_per_session_idx" on "quiz_launches" ("session_id") where (closed_at IS NULL);`);

    this.addSql(`alter table "quiz_attempts" add column "launch_id" uuid null;`);
    this.addSql(
      `alter table "quiz_attempts" add constraint "quiz_attempts_launch_id_foreign" foreign key ("launch_id") references "quiz_launches" ("id") on update cascade on delete no action;`,
    );
    this.addSql(`alter table "quiz_attempts" add constraint "quiz_attempts_launch_id_enrollment_id_unique" unique ("launch_id", "enrollment_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "quiz_attempts" drop constraint if exists "quiz_attempts_launch_id_enrollment_id_unique";`);
    this.addSql(`alter table "quiz_attempts" drop constraint if exists "quiz_attempts_launch_id_foreign";`);
    this.addSql(`alter table "quiz_attempts" drop column if exists "launch_id";`);
    this.addSql(`drop table if exists "quiz_launches";`);
    this.addSql(`drop table if exists "live_session_attendance";`);
    this.addSql(`drop table if exists "live_sessions";`);
  }
}
