import { Migration } from '@mikro-orm/migrations';

/**
 * `refresh_tokens.rotated_at`: when the token was exchanged by `POST /auth/refresh`. It tells a
 * rotation apart from a logout or a revocation in bulk, which all set `revoked_at`: a rotated
 * token presented again within the grace (a retried request, a second tab) answers 409
 * `TOKEN_ROTATED` and revokes nothing. Rows rotated before this column existed stay null and
 * keep counting as reuse, as they did.
 */
export class Migration20261205000001_refresh_token_rotation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "refresh_tokens" add column "rotated_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "refresh_tokens" drop column if exists "rotated_at";`);
  }
}
