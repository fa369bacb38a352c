import t from '../helpers/tap.js';
import { pace } from '../../bench/clients/pace.js';

// The load clients' pacing (scenarios 6 and 7): a schedule is cut short by the clock only.

t.test('every item is sent, however many turns the waits take, and none before its due time', async (t) => {
  // Waits that return at once make the loop turn as fast as it can until each due time (some
  // 2 million turns in these 3 s here): a former cap on its turns (100 per item + 1,000,000)
  // ended it before the last item. Real waits hit the same cap on long schedules: 2,000 items
  // 5 ms apart stopped after about 1,150.
  const offsetsMs = [0, 1000, 2000, 3000];
  const startAt = process.hrtime.bigint() + 5_000_000n;
  const early: number[] = [];
  let turns = 0;
  const result = await pace(
    startAt,
    offsetsMs,
    (index) => {
      if (process.hrtime.bigint() < startAt + BigInt(offsetsMs[index]! * 1e6)) early.push(index);
    },
    10_000,
    () => {
      turns++;
      return Promise.resolve();
    },
  );
  t.equal(result.sent, offsetsMs.length, 'all sent');
  t.same(early, [], 'none early');
  t.comment(`the waits took ${turns} turns (the former cap: 1,000,400)`);
});

t.test('a long schedule with real waits is sent whole', async (t) => {
  const count = 1000;
  let sent = 0;
  const result = await pace(
    process.hrtime.bigint() + 5_000_000n,
    Array.from({ length: count }, (_, i) => i * 0.8),
    () => sent++,
    10_000,
  );
  t.equal(sent, count);
  t.equal(result.sent, count);
  t.ok(result.maxLagMs >= 0);
});

t.test('a schedule past its end plus the timeout sends nothing more', async (t) => {
  let sent = 0;
  const result = await pace(process.hrtime.bigint() - 1_000_000_000n, [0, 100, 200], () => sent++, 10);
  t.equal(sent, 0);
  t.equal(result.sent, 0);
});
