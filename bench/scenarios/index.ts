/**
 * The scenarios, in the order `npm run bench` runs them. Each lives in its own module
 * with its own full and smoke sizes; a key mapped to `null` is not implemented yet and is listed
 * as not measured.
 */
import type { Scenario } from '../lib/scenario.js';
import { httpScenario } from './http.js';
import { fanoutCeilingScenario } from './fanout.js';
import { classroomScenario } from './classroom.js';
import { certificatesScenario } from './certificates.js';
import { gradeScenario } from './grade.js';
import { progressScenario } from './progress.js';
import { memoryScenario } from './memory.js';
import { recoveryScenario } from './recovery.js';
import { launchScenario } from './launch.js';
import { statsScenario } from './stats.js';
import { regradeScenario } from './regrade.js';
import { webScenario } from './web.js';

export const SCENARIOS: Array<[key: string, name: string, scenario: Scenario<any> | null]> = [
  ['5', '5 HTTP', httpScenario],
  ['2', '2 fan-out ceiling', fanoutCeilingScenario],
  ['1', '1 classroom fan-out', classroomScenario],
  ['3', '3 memory per socket', memoryScenario],
  ['4', '4 Redis streams adapter + recovery', recoveryScenario],
  ['6', '6 answer → grade → push', gradeScenario],
  ['7', '7 progress pipeline', progressScenario],
  ['8', '8 certificates', certificatesScenario],
  ['9', '9 live launch and close', launchScenario],
  ['10', '10 item statistics', statsScenario],
  ['11', '11 regrade', regradeScenario],
  ['web', 'web dashboard budgets', webScenario],
];
