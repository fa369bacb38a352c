import t from '../helpers/tap.js';
import { CoursePresence } from '../../web/src/presence.js';

// The web app's presence rule (docs/realtime.md, "Presence"): the join's snapshot, then the
// batches numbered after it; early batches wait for the ack; a late batch changes nobody a newer
// one set.
const courseId = '00000000-0000-4000-8000-000000000000';
const batch = (seq: number, joined: string[], left: string[], onlineCount: number) => ({ serverNow: '', courseId, seq, joined, left, onlineCount });

t.test('batches before the ack wait for it; those the snapshot covers are ignored', async (t) => {
  const presence = new CoursePresence();
  t.same(presence.apply(batch(10, ['a'], [], 1)), [], 'before the snapshot: kept');
  t.same(presence.apply(batch(11, ['b'], [], 2)), []);
  t.notOk(presence.known);
  const changed = presence.snapshot({ courseId, seq: 10, onlineCount: 1, online: ['a'] });
  t.same(changed.sort(), ['a', 'b']);
  t.same([...presence.online].sort(), ['a', 'b'], 'the batch after the snapshot applied, the one it covers not again');
  t.equal(presence.count, 2);
  t.same(presence.apply(batch(9, [], ['a'], 0)), [], 'an older batch than the snapshot changes nothing');
  t.same([...presence.online].sort(), ['a', 'b']);
});

t.test('a batch arriving late changes only the users no newer batch set', async (t) => {
  const presence = new CoursePresence();
  presence.snapshot({ courseId, seq: 5, onlineCount: 0, online: [] });
  presence.apply(batch(7, [], ['a'], 1));
  t.same(presence.apply(batch(6, ['a', 'b'], [], 2)), ['b'], 'a stays offline (seq 7 set it), b comes online');
  t.same([...presence.online], ['b']);
  t.equal(presence.count, 1, 'the count of the newest batch');
  presence.reset();
  t.same(presence.apply(batch(8, ['c'], [], 2)), [], 'after a reset, batches wait for the next snapshot');
});
