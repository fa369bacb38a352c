import type { App } from '../../../server/app.js';
import type { TestUser } from '../../helpers/users.js';

/**
 * A live session of the course, written directly (the sessions routes are another branch's
 * work): `status` live unless said.
 */
export async function liveSession(app: App, courseId: string, startedBy: TestUser, status: 'live' | 'ended' = 'live'): Promise<string> {
  const [row] = await app.orm.em
    .getConnection()
    .execute<Array<{ id: string }>>(
      `INSERT INTO live_sessions (course_id, started_by, status, ended_at) VALUES (?, ?, ?, ${status === 'ended' ? 'now()' : 'NULL'}) RETURNING id`,
      [courseId, startedBy.id, status],
    );
  return row!.id;
}

/** The attempts of a launch by status, straight from the database. */
export async function launchAttemptStatuses(app: App, launchId: string): Promise<Record<string, number>> {
  const rows = await app.orm.em
    .getConnection()
    .execute<Array<{ status: string; n: number }>>('SELECT status, count(*)::int AS n FROM quiz_attempts WHERE launch_id = ? GROUP BY status', [launchId]);
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}
