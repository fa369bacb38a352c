// `npm run migrate` applies pending migrations (under the advisory lock, like `npm start`);
// `npm run migrate:down` reverts the last one (`-- --all` reverts every one).
import { loadConfig } from '../server/config/config.js';
import { migrateDown, migrateUp } from '../server/platform/db/database.js';

const [direction, flag] = process.argv.slice(2);
const config = loadConfig();

if (direction === 'up') {
  const applied = await migrateUp(config);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
} else if (direction === 'down') {
  const reverted = await migrateDown(config, flag === '--all' ? { to: 0 } : {});
  console.log(reverted.length ? `reverted: ${reverted.join(', ')}` : 'nothing to revert');
} else {
  console.error('usage: tsx scripts/migrate.ts up|down [--all]');
  process.exit(2);
}
