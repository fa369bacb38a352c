import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';
import { client, connect, listen, request, socketPool } from './socket-helpers.js';
import { courseWithLessons, enrolledCrowd } from './fixtures.js';
import { waitFor } from '../helpers/wait.js';
import type { PresenceUpdatedPayload } from '../../server/realtime/contract.js';

// A class of 1,000 filling one course at once, each a real Socket.IO client. Presence must cost
// O(N) in all: students' acks carry a count, not the list; the instructor gets batches, at most
// 4 per second, whose union with its snapshot is the class.
const N = 1000;
// A loaded test machine can hold a Redis reply past the default 250 ms command timeout, and a
// snapshot without Redis is this instance's own count (seq 0): not what this test is about.
const { app } = await buildTestApp(t, 'realtime-join-storm', { SOCKET_HANDSHAKE_RATE_LIMIT_MAX: String(10 * N), REDIS_COMMAND_TIMEOUT_MS: '5000' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

const owner = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const { course } = await courseWithLessons(app, owner, []);
const crowd = await enrolledCrowd(app, course.id, N);

/** Bytes of a payload as it travels (JSON). */
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

t.test(`${N} students join one course: O(N) presence traffic, batches at most 4 per second`, async (t) => {
  const teacher = await connect(sockets.add(client(url, owner.token)));
  const batches: PresenceUpdatedPayload[] = [];
  teacher.on('presence:updated', (batch) => void batches.push(batch));
  const snapshot = await request(teacher, 'course:join', { courseId: course.id });
  t.match(snapshot, { ok: true, data: { courseId: course.id, onlineCount: 1, seq: Number, online: [owner.id] } }, "the instructor's ack lists who is online");
  const start = snapshot.data as { seq: number; online: string[] };

  // Connected and joined in waves of 100 (a wave is as much as one loaded test process can take at once).
  const acks: any[] = [];
  const started = Date.now();
  for (let from = 0; from < N; from += 100) {
    const wave = crowd.slice(from, from + 100);
    const joined = await Promise.all(
      wave.map(async (student) => {
        const socket = await connect(sockets.add(client(url, student.token)), 20_000);
        return request(socket, 'course:join', { courseId: course.id }, 20_000);
      }),
    );
    acks.push(...joined);
  }
  const joinMs = Date.now() - started;

  t.ok(
    acks.every((ack) => ack.ok && Object.keys(ack.data).sort().join() === 'courseId,onlineCount,seq'),
    "every student's ack is {courseId, onlineCount, seq}, without the list",
  );
  const odd = acks.filter((ack) => !(ack.data.onlineCount >= 2 && ack.data.onlineCount <= N + 1 && ack.data.seq >= start.seq));
  t.same(odd, [], 'counting the instructor and the students in so far, from the seq of the start or later');
  t.equal(Math.max(...acks.map((ack) => ack.data.onlineCount)), N + 1, 'the last one counts everyone');

  const crowdIds = new Set(crowd.map((student) => student.id));
  const online = () => {
    const seen = new Set(start.online);
    for (const batch of batches.filter((b) => b.seq > start.seq)) {
      batch.joined.forEach((id) => seen.add(id));
      batch.left.forEach((id) => seen.delete(id));
    }
    return seen;
  };
  await waitFor('every student in a batch', () => online().size === N + 1, 10_000);
  t.same(online(), new Set([owner.id, ...crowdIds]), 'the snapshot plus the batches is the class and its instructor');
  t.same(
    batches.flatMap((batch) => batch.left),
    [],
    'nobody left',
  );
  t.equal(batches.flatMap((batch) => batch.joined).filter((id) => crowdIds.has(id)).length, N, 'each student in exactly one batch');
  t.equal(batches.at(-1)!.onlineCount, N + 1, 'the last batch counts everyone');
  t.ok(
    batches.every((batch, i) => i === 0 || batch.seq > batches[i - 1]!.seq),
    'batches arrive numbered in order',
  );

  // At most 4 per second: the interval is enforced in Redis, and `serverNow` is stamped in Node
  // once the flush's reply is in, which a busy event loop may delay for one batch and not the next.
  const stamps = batches.map((batch) => Date.parse(batch.serverNow));
  const gaps = stamps.slice(1).map((at, i) => at - stamps[i]!);
  const span = stamps.at(-1)! - stamps[0]!;
  t.ok(Math.min(...gaps) >= 150, `batches at least ${Math.min(...gaps)} ms apart (server stamps)`);
  t.ok(batches.length <= Math.floor(span / 250) + 1, `${batches.length} batches over ${span} ms (${N} joins in ${joinMs} ms): at most 4 per second`);

  // O(N) bytes: a user id is 36 characters (38 quoted, with a comma 39); the instructor's batches
  // carry each student once, the students' acks carry none. The old contract (each join acked with
  // the whole list and one event per join) needed about N²/2 ids in acks alone.
  const toInstructor = batches.reduce((sum, batch) => sum + size(batch), 0);
  const toStudents = acks.reduce((sum, ack) => sum + size(ack), 0);
  t.ok(toInstructor < 2 * N * 40, `the instructor received ${toInstructor} bytes of presence (< 2 × ${N} × 40)`);
  t.ok(toStudents < N * 120, `the students' acks are ${toStudents} bytes in all (< ${N} × 120)`);
  const quadratic = ((N * (N + 1)) / 2) * 39;
  t.ok((toInstructor + toStudents) * 50 < quadratic, `${toInstructor + toStudents} bytes, against about ${quadratic} for lists in every ack`);

  // An instructor joining now gets the whole list.
  const boss = await connect(sockets.add(client(url, admin.token)));
  const late = await request(boss, 'course:join', { courseId: course.id });
  t.equal(late.data.onlineCount, N + 2);
  t.same(new Set(late.data.online), new Set([owner.id, admin.id, ...crowdIds]), "an admin's ack lists all who are online");
  t.equal(await app.presence.snapshot(course.id, { members: false }).then((s) => s.onlineCount), N + 2);
});
