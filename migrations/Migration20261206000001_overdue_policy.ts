import { Migration } from '@mikro-orm/migrations';

/**
 * The overdue policy and moderation (SPEC §7):
 * - `quizzes.overdue_handling` / `grace_period_seconds`: what the server does with an attempt left
 *   running past its deadline; copied onto `quiz_attempts` at start so later edits of the quiz do
 *   not change running attempts (existing attempts get the defaults: today's behaviour);
 * - `quiz_attempts.submit_until`: the end of the submit window the policy gives (deadline + grace
 *   under `graceperiod`, the deadline otherwise), moved with the deadline;
 * - the attempt status `abandoned`;
 * - `quiz_overrides`: per-student extra attempts and extra time;
 * - `idempotency_keys`: replies of routes called with an `Idempotency-Key`, purged by the sweep.
 */
export class Migration20261206000001_overdue_policy extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "quizzes"
      add column "overdue_handling" varchar(50) not null default 'autosubmit',
      add column "grace_period_seconds" int not null default 0,
      add constraint "quizzes_overdue_handling_check" check ("overdue_handling" in ('autosubmit', 'graceperiod', 'autoabandon')),
      add constraint "quizzes_grace_period_seconds_check" check ((grace_period_seconds >= 0));`);
    this.addSql(`alter table "quiz_attempts"
      add column "overdue_handling" varchar(50) not null default 'autosubmit',
      add column "grace_period_seconds" int not null default 0,
      add column "submit_until" timestamptz null,
      add constraint "quiz_attempts_overdue_handling_check" check ("overdue_handling" in ('autosubmit', 'graceperiod', 'autoabandon')),
      add constraint "quiz_attempts_grace_period_seconds_check" check ((grace_period_seconds >= 0));`);
    // Existing timed attempts: autosubmit, so the submit window ends at the deadline.
    this.addSql(`update "quiz_attempts" set "submit_until" = "deadline" where "deadline" is not null;`);
    this.addSql(`alter table "quiz_attempts" drop constraint "quiz_attempts_status_check";`);
    this.addSql(
      `alter table "quiz_attempts" add constraint "quiz_attempts_status_check" check ("status" in ('in_progress', 'submitted', 'graded', 'abandoned'));`,
    );

    this.addSql(`create table "quiz_overrides" (
      "quiz_id" uuid not null,
      "student_id" uuid not null,
      "extra_attempts" int not null default 0,
      "extra_time_seconds" int not null default 0,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "quiz_overrides_pkey" primary key ("quiz_id", "student_id"),
      constraint "quiz_overrides_quiz_id_foreign" foreign key ("quiz_id") references "quizzes" ("id") on update cascade on delete cascade,
      constraint "quiz_overrides_student_id_foreign" foreign key ("student_id") references "users" ("id") on update cascade on delete cascade,
      constraint "quiz_overrides_extra_attempts_check" check ((extra_attempts >= 0)),
      constraint "quiz_overrides_extra_time_seconds_check" check ((extra_time_seconds >= 0))
    );`);
    this.addSql(`create index "quiz_overrides_student_id_index" on "quiz_overrides" ("student_id");`);

    this.addSql(`create table "idempotency_keys" (
      "scope" varchar(200) not null,
      "key" varchar(200) not null,
      "status_code" int not null,
      "response" jsonb not null,
      "created_at" timestamptz not null default now(),
      constraint "idempotency_keys_pkey" primary key ("scope", "key")
    );`);
    this.addSql(`create index "idempotency_keys_created_at_index" on "idempotency_keys" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "idempotency_keys";`);
    this.addSql(`drop table if exists "quiz_overrides";`);
    // Abandoned attempts have no grade to fall back on; they read as submitted (finished, ungraded).
    this.addSql(`update "quiz_attempts" set "status" = 'submitted' where "status" = 'abandoned';`);
    this.addSql(`alter table "quiz_attempts" drop constraint "quiz_attempts_status_check";`);
    this.addSql(`alter table "quiz_attempts" add constraint "quiz_attempts_status_check" check ("status" in ('in_progress', 'submitted', 'graded'));`);
    this
      .addSql(`alter table "quiz_attempts" drop constraint if exists "quiz_attempts_overdue_handling_check", drop constraint if exists "quiz_attempts_grace_period_seconds_check",
      drop column if exists "overdue_handling", drop column if exists "grace_period_seconds", drop column if exists "submit_until";`);
    this
      .addSql(`alter table "quizzes" drop constraint if exists "quizzes_overdue_handling_check", drop constraint if exists "quizzes_grace_period_seconds_check",
      drop column if exists "overdue_handling", drop column if exists "grace_period_seconds";`);
  }
}
