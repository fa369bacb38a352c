// Configuration for the MikroORM CLI (`npx mikro-orm-esm ...` under tsx); the app does not read it.
import { loadConfig } from './server/config/config.js';
import { ormOptions } from './server/platform/db/orm-options.js';

export default ormOptions(loadConfig());
