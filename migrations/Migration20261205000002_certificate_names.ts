import { Migration } from '@mikro-orm/migrations';

/**
 * A certificate states who earned what from whom on the day it was issued: the student's name,
 * the course title and the instructor's name are stored on the row, so that later renames change
 * neither its verification nor a re-rendered PDF. Existing rows take today's names (the best record
 * there is), then the columns become NOT NULL. Lengths as the columns they copy.
 */
export class Migration20261205000002_certificate_names extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "certificates" add column "student_name" varchar(255) null, add column "course_title" varchar(500) null, add column "instructor_name" varchar(255) null;`,
    );
    this.addSql(`update "certificates" c set "student_name" = s."full_name", "course_title" = co."title", "instructor_name" = i."full_name"
      from "users" s, "courses" co, "users" i
      where s."id" = c."student_id" and co."id" = c."course_id" and i."id" = co."instructor_id";`);
    this.addSql(
      `alter table "certificates" alter column "student_name" set not null, alter column "course_title" set not null, alter column "instructor_name" set not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(
      `alter table "certificates" drop column if exists "student_name", drop column if exists "course_title", drop column if exists "instructor_name";`,
    );
  }
}
