import { Migration } from '@mikro-orm/migrations';

/**
 * The eleven tables of the original design (docs/data-model.md) plus quizzes.time_limit_seconds
 * and quiz_attempts.deadline, question_order, results, auto_submitted.
 *
 * It must stay in step with `entities/`: the schema test asserts that MikroORM's diff between
 * the entities and a database migrated with this file is empty. So every index and constraint
 * carries the explicit name its entity gives it, and the CHECK expressions of `entities/` are
 * written the way PostgreSQL prints them back (`pg_get_constraintdef`). The enumerated columns
 * are the exception: MikroORM reads their `= ANY (ARRAY[...])` CHECK back as enum items (see
 * `enumColumn` in entities/columns.ts), and they are written here as `in (...)` because that is
 * what PostgreSQL prints as `((col)::text = ANY ((ARRAY['a'::character varying, ...])::text[]))`;
 * writing that printed form literally would come back as `ARRAY[('a'::character varying)::text, ...]`.
 *
 * ON DELETE rules, in short: what a course owns (lessons, quizzes, questions) goes with it, and
 * a user's refresh tokens go with the user (CASCADE); what a student earned (enrollments,
 * progress, attempts, certificates) is never deleted as a side effect, so anything it refers to
 * cannot be deleted while it exists (NO ACTION); a deleted parent lesson leaves its children
 * at the top level (SET NULL; the API re-parents them first). UUID keys never change, so
 * MikroORM's default ON UPDATE CASCADE is kept as it generates it.
 */
export class Migration20261125000000_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "users" (
      "id" uuid not null default gen_random_uuid(),
      "email" varchar(255) not null,
      "password_hash" varchar(255) not null,
      "full_name" varchar(255) not null,
      "role" varchar(50) not null default 'student',
      "is_active" boolean not null default true,
      "metadata" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      "last_login_at" timestamptz null,
      constraint "users_pkey" primary key ("id"),
      constraint "users_email_unique" unique ("email"),
      constraint "users_email_lowercase_check" check (((email)::text = lower((email)::text))),
      constraint "users_role_check" check ("role" in ('admin', 'instructor', 'student'))
    );`);

    this.addSql(`create table "refresh_tokens" (
      "id" uuid not null default gen_random_uuid(),
      "user_id" uuid not null,
      "token_jti" varchar(255) not null,
      "expires_at" timestamptz not null,
      "revoked_at" timestamptz null,
      "created_at" timestamptz not null default now(),
      "user_agent" varchar(255) null,
      "ip_address" varchar(45) null,
      constraint "refresh_tokens_pkey" primary key ("id"),
      constraint "refresh_tokens_token_jti_unique" unique ("token_jti"),
      constraint "refresh_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade
    );`);
    this.addSql(`create index "refresh_tokens_user_id_index" on "refresh_tokens" ("user_id");`);

    this.addSql(`create table "courses" (
      "id" uuid not null default gen_random_uuid(),
      "title" varchar(500) not null,
      "slug" varchar(500) not null,
      "description" text null,
      "instructor_id" uuid not null,
      "category" varchar(100) null,
      "difficulty_level" varchar(50) null,
      "is_published" boolean not null default false,
      "thumbnail_url" varchar(1000) null,
      "estimated_duration_minutes" int null,
      "metadata" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "courses_pkey" primary key ("id"),
      constraint "courses_slug_unique" unique ("slug"),
      constraint "courses_instructor_id_foreign" foreign key ("instructor_id") references "users" ("id") on update cascade on delete no action,
      constraint "courses_difficulty_level_check" check ("difficulty_level" in ('beginner', 'intermediate', 'advanced')),
      constraint "courses_estimated_duration_minutes_check" check ((estimated_duration_minutes >= 0))
    );`);
    this.addSql(`create index "courses_instructor_id_index" on "courses" ("instructor_id");`);
    this.addSql(`create index "courses_category_index" on "courses" ("category");`);
    this.addSql(`create index "courses_is_published_index" on "courses" ("is_published");`);

    this.addSql(`create table "lessons" (
      "id" uuid not null default gen_random_uuid(),
      "course_id" uuid not null,
      "title" varchar(500) not null,
      "slug" varchar(500) not null,
      "description" text null,
      "content" text null,
      "lesson_type" varchar(50) not null default 'text',
      "order_index" int not null default 0,
      "parent_lesson_id" uuid null,
      "duration_minutes" int null,
      "video_url" varchar(1000) null,
      "is_preview" boolean not null default false,
      "metadata" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "lessons_pkey" primary key ("id"),
      constraint "lessons_course_id_slug_unique" unique ("course_id", "slug"),
      constraint "lessons_course_id_foreign" foreign key ("course_id") references "courses" ("id") on update cascade on delete cascade,
      constraint "lessons_parent_lesson_id_foreign" foreign key ("parent_lesson_id") references "lessons" ("id") on update cascade on delete set null,
      constraint "lessons_lesson_type_check" check ("lesson_type" in ('video', 'text', 'quiz', 'assignment')),
      constraint "lessons_order_index_check" check ((order_index >= 0)),
      constraint "lessons_duration_minutes_check" check ((duration_minutes >= 0))
    );`);
    this.addSql(`create index "lessons_course_id_index" on "lessons" ("course_id");`);
    this.addSql(`create index "lessons_parent_lesson_id_index" on "lessons" ("parent_lesson_id");`);

    // max_attempts is the one column with a default that stays NULLABLE: null means unlimited.
    this.addSql(`create table "quizzes" (
      "id" uuid not null default gen_random_uuid(),
      "lesson_id" uuid null,
      "title" varchar(500) not null,
      "description" text null,
      "quiz_type" varchar(50) not null default 'practice',
      "passing_score" int not null default 70,
      "time_limit_minutes" int null,
      "time_limit_seconds" int null,
      "max_attempts" int null default 3,
      "shuffle_questions" boolean not null default false,
      "shuffle_options" boolean not null default false,
      "show_correct_answers" boolean not null default false,
      "is_published" boolean not null default false,
      "metadata" jsonb not null default '{}',
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "quizzes_pkey" primary key ("id"),
      constraint "quizzes_lesson_id_unique" unique ("lesson_id"),
      constraint "quizzes_lesson_id_foreign" foreign key ("lesson_id") references "lessons" ("id") on update cascade on delete cascade,
      constraint "quizzes_quiz_type_check" check ("quiz_type" in ('practice', 'graded')),
      constraint "quizzes_passing_score_check" check (((passing_score >= 0) AND (passing_score <= 100))),
      constraint "quizzes_time_limit_minutes_check" check ((time_limit_minutes > 0)),
      constraint "quizzes_time_limit_seconds_check" check ((time_limit_seconds > 0)),
      constraint "quizzes_max_attempts_check" check ((max_attempts >= 1))
    );`);

    this.addSql(`create table "quiz_questions" (
      "id" uuid not null default gen_random_uuid(),
      "quiz_id" uuid not null,
      "question_text" text not null,
      "question_type" varchar(50) not null,
      "points" int not null default 1,
      "order_index" int not null default 0,
      "options" jsonb null,
      "correct_answer" jsonb null,
      "explanation" text null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "quiz_questions_pkey" primary key ("id"),
      constraint "quiz_questions_quiz_id_foreign" foreign key ("quiz_id") references "quizzes" ("id") on update cascade on delete cascade,
      constraint "quiz_questions_question_type_check" check ("question_type" in ('multiple_choice', 'true_false', 'short_answer')),
      constraint "quiz_questions_points_check" check ((points >= 0)),
      constraint "quiz_questions_order_index_check" check ((order_index >= 0))
    );`);
    this.addSql(`create index "quiz_questions_quiz_id_index" on "quiz_questions" ("quiz_id");`);

    this.addSql(`create table "enrollments" (
      "id" uuid not null default gen_random_uuid(),
      "student_id" uuid not null,
      "course_id" uuid not null,
      "status" varchar(50) not null default 'active',
      "progress_percentage" numeric(5,2) not null default 0,
      "completed_lessons_count" int not null default 0,
      "total_lessons_count" int not null default 0,
      "total_time_spent_seconds" int not null default 0,
      "rating" int null,
      "review" text null,
      "certificate_issued_at" timestamptz null,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      "completed_at" timestamptz null,
      constraint "enrollments_pkey" primary key ("id"),
      constraint "enrollments_student_id_course_id_unique" unique ("student_id", "course_id"),
      constraint "enrollments_student_id_foreign" foreign key ("student_id") references "users" ("id") on update cascade on delete no action,
      constraint "enrollments_course_id_foreign" foreign key ("course_id") references "courses" ("id") on update cascade on delete no action,
      constraint "enrollments_status_check" check ("status" in ('active', 'completed', 'dropped', 'expired')),
      constraint "enrollments_rating_check" check (((rating >= 1) AND (rating <= 5))),
      constraint "enrollments_progress_percentage_check" check (((progress_percentage >= (0)::numeric) AND (progress_percentage <= (100)::numeric))),
      constraint "enrollments_counts_check" check (((completed_lessons_count >= 0) AND (total_lessons_count >= 0) AND (total_time_spent_seconds >= 0)))
    );`);
    this.addSql(`create index "enrollments_student_id_index" on "enrollments" ("student_id");`);
    this.addSql(`create index "enrollments_course_id_index" on "enrollments" ("course_id");`);

    this.addSql(`create table "lesson_progress" (
      "id" uuid not null default gen_random_uuid(),
      "enrollment_id" uuid not null,
      "lesson_id" uuid not null,
      "status" varchar(50) not null default 'not_started',
      "started_at" timestamptz null,
      "completed_at" timestamptz null,
      "time_spent_seconds" int not null default 0,
      "completion_percentage" numeric(5,2) not null default 0,
      "created_at" timestamptz not null default now(),
      "updated_at" timestamptz not null default now(),
      constraint "lesson_progress_pkey" primary key ("id"),
      constraint "lesson_progress_enrollment_id_lesson_id_unique" unique ("enrollment_id", "lesson_id"),
      constraint "lesson_progress_enrollment_id_foreign" foreign key ("enrollment_id") references "enrollments" ("id") on update cascade on delete cascade,
      constraint "lesson_progress_lesson_id_foreign" foreign key ("lesson_id") references "lessons" ("id") on update cascade on delete no action,
      constraint "lesson_progress_status_check" check ("status" in ('not_started', 'in_progress', 'completed')),
      constraint "lesson_progress_completion_percentage_check" check (((completion_percentage >= (0)::numeric) AND (completion_percentage <= (100)::numeric))),
      constraint "lesson_progress_time_spent_seconds_check" check ((time_spent_seconds >= 0))
    );`);
    this.addSql(`create index "lesson_progress_enrollment_id_index" on "lesson_progress" ("enrollment_id");`);
    this.addSql(`create index "lesson_progress_lesson_id_index" on "lesson_progress" ("lesson_id");`);

    this.addSql(`create table "quiz_attempts" (
      "id" uuid not null default gen_random_uuid(),
      "enrollment_id" uuid not null,
      "quiz_id" uuid not null,
      "attempt_number" int not null,
      "status" varchar(50) not null default 'in_progress',
      "started_at" timestamptz not null,
      "deadline" timestamptz null,
      "submitted_at" timestamptz null,
      "graded_at" timestamptz null,
      "score" numeric(10,2) null,
      "max_score" numeric(10,2) null,
      "percentage" numeric(5,2) null,
      "is_passed" boolean null,
      "time_taken_seconds" int null,
      "answers" jsonb null,
      "question_order" jsonb null,
      "results" jsonb null,
      "auto_submitted" boolean not null default false,
      "created_at" timestamptz not null default now(),
      constraint "quiz_attempts_pkey" primary key ("id"),
      constraint "quiz_attempts_enrollment_id_quiz_id_attempt_number_unique" unique ("enrollment_id", "quiz_id", "attempt_number"),
      constraint "quiz_attempts_enrollment_id_foreign" foreign key ("enrollment_id") references "enrollments" ("id") on update cascade on delete no action,
      constraint "quiz_attempts_quiz_id_foreign" foreign key ("quiz_id") references "quizzes" ("id") on update cascade on delete no action,
      constraint "quiz_attempts_status_check" check ("status" in ('in_progress', 'submitted', 'graded')),
      constraint "quiz_attempts_attempt_number_check" check ((attempt_number >= 1)),
      constraint "quiz_attempts_percentage_check" check (((percentage >= (0)::numeric) AND (percentage <= (100)::numeric)))
    );`);
    this.addSql(`create index "quiz_attempts_enrollment_id_index" on "quiz_attempts" ("enrollment_id");`);
    this.addSql(`create index "quiz_attempts_quiz_id_index" on "quiz_attempts" ("quiz_id");`);
    // At most one running attempt per (enrollment, quiz), whatever the API does under races.
    this.addSql(
      `create unique index "quiz_attempts_one_in_progress_idx" on "quiz_attempts" ("enrollment_id", "quiz_id") where ((status)::text = 'in_progress'::text);`,
    );
    // The periodic sweep looks up running attempts whose deadline has passed.
    this.addSql(`create index "quiz_attempts_deadline_in_progress_idx" on "quiz_attempts" ("deadline") where ((status)::text = 'in_progress'::text);`);

    this.addSql(`create table "uploaded_files" (
      "id" uuid not null default gen_random_uuid(),
      "uploader_id" uuid not null,
      "filename" varchar(500) not null,
      "original_filename" varchar(500) not null,
      "file_url" varchar(1000) not null,
      "storage_path" varchar(1000) not null,
      "file_type" varchar(100) null,
      "mime_type" varchar(100) null,
      "file_size" int null,
      "folder" varchar(255) null,
      "storage_provider" varchar(50) not null default 'local',
      "is_public" boolean not null default false,
      "created_at" timestamptz not null default now(),
      constraint "uploaded_files_pkey" primary key ("id"),
      constraint "uploaded_files_uploader_id_foreign" foreign key ("uploader_id") references "users" ("id") on update cascade on delete no action,
      constraint "uploaded_files_storage_provider_check" check ("storage_provider" in ('local', 's3')),
      constraint "uploaded_files_file_size_check" check ((file_size >= 0))
    );`);
    this.addSql(`create index "uploaded_files_uploader_id_index" on "uploaded_files" ("uploader_id");`);

    this.addSql(`create table "certificates" (
      "id" uuid not null default gen_random_uuid(),
      "enrollment_id" uuid null,
      "student_id" uuid not null,
      "course_id" uuid not null,
      "certificate_number" varchar(100) not null,
      "pdf_path" varchar(1000) null,
      "completion_date" timestamptz not null,
      "issued_at" timestamptz not null default now(),
      "is_revoked" boolean not null default false,
      "revoked_at" timestamptz null,
      constraint "certificates_pkey" primary key ("id"),
      constraint "certificates_enrollment_id_unique" unique ("enrollment_id"),
      constraint "certificates_certificate_number_unique" unique ("certificate_number"),
      constraint "certificates_enrollment_id_foreign" foreign key ("enrollment_id") references "enrollments" ("id") on update cascade on delete no action,
      constraint "certificates_student_id_foreign" foreign key ("student_id") references "users" ("id") on update cascade on delete no action,
      constraint "certificates_course_id_foreign" foreign key ("course_id") references "courses" ("id") on update cascade on delete no action
    );`);
    this.addSql(`create index "certificates_student_id_index" on "certificates" ("student_id");`);
    this.addSql(`create index "certificates_course_id_index" on "certificates" ("course_id");`);
  }

  override async down(): Promise<void> {
    // Reverse dependency order; dropping a table drops its indexes and constraints with it.
    for (const table of [
      'certificates',
      'uploaded_files',
      'quiz_attempts',
      'lesson_progress',
      'enrollments',
      'quiz_questions',
      'quizzes',
      'lessons',
      'courses',
      'refresh_tokens',
      'users',
    ]) {
      this.addSql(`drop table if exists "${table}";`);
    }
  }
}
