import { Migration } from '@mikro-orm/migrations';

/**
 * `progress_client_keys`: the `clientKey` of every progress write applied in the last day, so a
 * retried write (a lost ack, a reconnect) is applied once. The primary key (enrollment,
 * key) is what decides; it leads with the enrollment, so it also indexes the foreign key. The sweep
 * deletes keys older than a day by `created_at`.
 */
export class Migration20261205000002_progress_client_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "progress_client_keys" (
      "enrollment_id" uuid not null,
      "client_key" uuid not null,
      "created_at" timestamptz not null default now(),
      constraint "progress_client_keys_pkey" primary key ("enrollment_id", "client_key"),
      constraint "progress_client_keys_enrollment_id_foreign" foreign key ("enrollment_id") references "enrollments" ("id") on update cascade on delete cascade
    );`);
    this.addSql(`create index "progress_client_keys_created_at_index" on "progress_client_keys" ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "progress_client_keys";`);
  }
}
