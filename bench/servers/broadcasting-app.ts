/**
 * The app from `buildApp` as scenarios 1–3 and 8(b) run it: listening on loopback, broadcasting
 * through `app.realtime` (the emitter every service uses) on `listenForBursts`' IPC, and signing
 * access tokens on `{type:'sign', ids}` → `{type:'tokens'}`. `setup` adds what a scenario needs.
 *
 * With `WORKERS=on` it is the process of `npm start`: the workers run in the worker thread
 * `server/main.ts` starts (`workers/thread.ts`), on an event loop of their own beside the API's.
 * With `BENCH_CPU_PROF_DIR` set, it writes a CPU profile of its main thread (the API's event loop).
 */
import { buildApp, type App } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import { WorkerThread } from '../../server/platform/worker-thread.js';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';

export async function serveBroadcastingApp(setup: (app: App) => void = () => {}): Promise<void> {
  await serve({ cpuProfile: 'app' }, async () => {
    const config = loadConfig(process.env);
    const app = await buildApp(config);
    await app.listen({ host: '127.0.0.1', port: 0 });
    // As server/main.ts composes `npm start`: the workers in a thread, by path.
    const workers = config.workers
      ? new WorkerThread(new URL('../../workers/thread.ts', import.meta.url), config, app.log.child({ component: 'workers' }))
      : null;
    await workers?.ready();
    process.on('message', (message: { type?: string; ids: string[] }) => {
      if (message.type === 'sign') process.send!({ type: 'tokens', tokens: message.ids.map((id) => app.signAccessToken({ id, role: 'student' })) });
    });
    listenForBursts({
      emit: (room, event, payload) => app.realtime.emit(room, event as 'progress:updated', payload as never),
    });
    setup(app);
    return {
      port: (app.server.address() as { port: number }).port,
      close: () => Promise.all([app.close(), workers?.close(config.shutdownTimeoutMs)]),
    };
  });
}
