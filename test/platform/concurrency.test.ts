import t from '../helpers/tap.js';
import { forEachLimited } from '../../server/platform/concurrency.js';

t.test('forEachLimited: every item once, never more than the limit in flight', async (t) => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5 * (item % 3)));
    seen.push(item);
    inFlight--;
  });
  t.same(
    seen.sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7],
  );
  t.equal(most, 3);
});

t.test('forEachLimited: an empty list, a limit below one, and a failure', async (t) => {
  let calls = 0;
  await forEachLimited([], 4, async () => void calls++);
  t.equal(calls, 0);
  await forEachLimited([1, 2], 0, async () => void calls++);
  t.equal(calls, 2, 'a limit below one still runs one at a time');
  await t.rejects(
    forEachLimited([1, 2, 3], 2, async (item) => {
      if (item === 2) throw new Error('boom');
    }),
    /boom/,
  );
});
