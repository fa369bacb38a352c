// Configuration for the MikroORM CLI (`npx mikro-orm-esm ...` under tsx); the app does not read it.
import { loadConfig } from './server/config/config.js';
import { Migrator } from '@mikro-orm/migrations';
import { ormOptions } from './server/platform/db/orm-options.js';

// The CLI creates and runs migrations; the app loads the migrator only to migrate (database.ts).
export default ormOptions(loadConfig(), { extensions: [Migrator] });
