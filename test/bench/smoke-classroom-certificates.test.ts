import t from '../helpers/tap.js';
import { benchSmoke } from '../helpers/bench-smoke.js';

t.test('npm run bench -- --smoke --only=1,8', { timeout: 170_000 }, async (t) => {
  await benchSmoke(t, ['1', '8']);
});
