import { Migration } from '@mikro-orm/migrations';

/**
 * Key corrections and regrades (SPEC §8):
 * - `quizzes.key_version`: bumped by every answer-key or points correction, in the transaction
 *   that makes it; a regrade runs for one key version.
 * - `quiz_regrades`: one run per quiz and key version (unique: asking again returns the same run),
 *   at most one queued or running per quiz (partial unique index); its counters move in the same
 *   transaction as each batch of attempts it regrades, with `last_attempt_id` (the run goes through
 *   the attempts in id order: a resumed run starts after it, so it regrades and counts nothing twice).
 * - `attempt_regrades`: the history of each attempt whose result a run changed (old and new score,
 *   maximum, percentage and pass; who asked); unique per run and attempt.
 */
export class Migration20261206000004_regrades extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "quizzes" add column "key_version" int not null default 1,
      add constraint "quizzes_key_version_check" check ((key_version >= 1));`);

    this.addSql(`create table "quiz_regrades" (
      "id" uuid not null default gen_random_uuid(),
      "quiz_id" uuid not null,
      "key_version" int not null,
      "status" varchar(50) not null default 'queued',
      "requested_by" uuid null,
      "total" int not null default 0,
      "processed" int not null default 0,
      "changed" int not null default 0,
      "last_attempt_id" uuid null,
      "started_at" timestamptz null,
      "finished_at" timestamptz null,
      "error" text null,
      "created_at" timestamptz not null default now(),
      constraint "quiz_regrades_pkey" primary key ("id"),
      constraint "quiz_regrades_quiz_id_foreign" foreign key ("quiz_id") references "quizzes" ("id") on update cascade on delete cascade,
      constraint "quiz_regrades_requested_by_foreign" foreign key ("requested_by") references "users" ("id") on update cascade on delete set null,
      constraint "quiz_regrades_status_check" check ("status" in ('queued', 'running', 'done', 'failed')),
      constraint "quiz_regrades_counts_check" check (((total >= 0) AND (processed >= 0) AND (changed >= 0) AND (changed <= processed)))
    );`);
    this.addSql(`alter table "quiz_regrades" add constraint "quiz_regrades_quiz_id_key_version_unique" unique ("quiz_id", "key_version");`);
    this.addSql(`create index "quiz_regrades_requested_by_index" on "quiz_regrades" ("requested_by");`);
    this.addSql(
      `create unique index "quiz_regrades_one_active_per_quiz_idx" on "quiz_regrades" ("quiz_id") where ((status)::text = ANY ((ARRAY['queued'::character varying, 'running'::character varying])::text[]));`,
    );

    this.addSql(`create table "attempt_regrades" (
      "id" uuid not null default gen_random_uuid(),
      "regrade_id" uuid not null,
      "attempt_id" uuid not null,
      "old_score" numeric(10,2) not null,
      "new_score" numeric(10,2) not null,
      "old_max_score" numeric(10,2) not null,
      "new_max_score" numeric(10,2) not null,
      "old_percentage" numeric(5,2) not null,
      "new_percentage" numeric(5,2) not null,
      "old_passed" boolean not null,
      "new_passed" boolean not null,
      "requested_by" uuid null,
      "created_at" timestamptz not null default now(),
      constraint "attempt_regrades_pkey" primary key ("id"),
      constraint "attempt_regrades_regrade_id_foreign" foreign key ("regrade_id") references "quiz_regrades" ("id") on update cascade on delete cascade,
      constraint "attempt_regrades_attempt_id_foreign" foreign key ("attempt_id") references "quiz_attempts" ("id") on update cascade on delete cascade,
      constraint "attempt_regrades_requested_by_foreign" foreign key ("requested_by") references "users" ("id") on update cascade on delete set null
    );`);
    this.addSql(`alter table "attempt_regrades" add constraint "attempt_regrades_regrade_id_attempt_id_unique" unique ("regrade_id", "attempt_id");`);
    this.addSql(`create index "attempt_regrades_attempt_id_index" on "attempt_regrades" ("attempt_id");`);
    this.addSql(`create index "attempt_regrades_requested_by_index" on "attempt_regrades" ("requested_by");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "attempt_regrades";`);
    this.addSql(`drop table if exists "quiz_regrades";`);
    this.addSql(`alter table "quizzes" drop constraint if exists "quizzes_key_version_check", drop column if exists "key_version";`);
  }
}
