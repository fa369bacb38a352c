import t from 'tap';
import { runGroup } from './groups.js';

await runGroup(t, 'modules-2');
