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
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';
import { listenForCpuWindow, stampTicks } from './ticks-common.js';

await serve(async () => {
  const app = await buildApp(loadConfig(process.env));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.on('message', (message: { type?: string; ids: string[] }) => {
    if (message.type === 'sign') process.send!({ type: 'tokens', tokens: message.ids.map((id) => app.signAccessToken({ id, role: 'student' })) });
  });
  listenForBursts({
    emit: (room, event, payload) => app.realtime.emit(room, event as 'progress:updated', payload as never),
  });
  stampTicks(app.io as never);
  listenForCpuWindow();
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
});
