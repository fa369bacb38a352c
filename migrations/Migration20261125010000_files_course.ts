import { Migration } from '@mikro-orm/migrations';

/**
 * Files attached to a course: `uploaded_files.course_id`, so a course's active and
 * completed enrollees may read its files. SET NULL on delete: the file falls back to uploader
 * and admin access (a course with enrollments cannot be deleted anyway). Indexed, like every
 * foreign key; names as the entity gives them, so MikroORM's schema diff stays empty.
 */
export class Migration20261125010000_files_course extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "uploaded_files" add column "course_id" uuid null;`);
    this.addSql(
      `alter table "uploaded_files" add constraint "uploaded_files_course_id_foreign" foreign key ("course_id") references "courses" ("id") on update cascade on delete set null;`,
    );
    this.addSql(`create index "uploaded_files_course_id_index" on "uploaded_files" ("course_id");`);
  }

  override async down(): Promise<void> {
    // Dropping the column drops its index and foreign key with it.
    this.addSql(`alter table "uploaded_files" drop column if exists "course_id";`);
  }
}
