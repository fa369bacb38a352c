import t from '../helpers/tap.js';
import { benchSmoke } from '../helpers/bench-smoke.js';

t.test('npm run bench -- --smoke --only=5,2', { timeout: 170_000 }, async (t) => {
  await benchSmoke(t, ['5', '2']);
});
