import t from 'tap';
import { runGroup } from './groups.js';

await runGroup(t, 'workers-2');
