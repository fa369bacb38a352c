/**
 * The app from `buildApp` as scenarios 1–3 and 8(b) run it: listening on loopback, broadcasting
 * through `app.realtime` (the emitter every service uses) on `listenForBursts`' IPC, and signing
 * access tokens on `{type:'sign', ids}` → `{type:'tokens'}`. `setup` adds what a scenario needs.
 */
import { buildApp, type App } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';

export async function serveBroadcastingApp(setup: (app: App) => void = () => {}): Promise<void> {
  await serve(async () => {
    const app = await buildApp(loadConfig(process.env));
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.on('message', (message: { type?: string; ids: string[] }) => {
      if (message.type === 'sign') process.send!({ type: 'tokens', tokens: message.ids.map((id) => app.signAccessToken({ id, role: 'student' })) });
    });
    listenForBursts({
      emit: (room, event, payload) => app.realtime.emit(room, event as 'progress:updated', payload as never),
    });
    setup(app);
    return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
  });
}
