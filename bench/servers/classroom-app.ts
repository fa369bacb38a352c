/**
 * Scenario 1 (and 8(b)), system under test: the app from `buildApp`, on loopback.
 *
 * - (a) broadcasts go through `app.realtime` (the emitter every service uses), paced or in
 *   bursts by `listenForBursts`; IPC `{type:'sign', ids}` → `{type:'tokens'}` for the students.
 * - (b) ticks are the app's own: a student's socket connecting makes the realtime plugin load the
 *   student's open timed attempts (`trackOpenAttempts`) and the `QuizTickScheduler` sends
 *   `quiz:tick` volatile to `user:<id>` on this instance. This process only adds the bench's
 *   `sentAt` stamp and CPU window (ticks-common.ts), exactly as classroom-bare.ts does.
 */
import { serveBroadcastingApp } from './broadcasting-app.js';
import { listenForCpuWindow, stampTicks } from './ticks-common.js';

await serveBroadcastingApp((app) => {
  stampTicks(app.io as never);
  listenForCpuWindow();
});
