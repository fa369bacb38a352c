/**
 * Scenarios 1–2, system under test: the app from `buildApp` (handshake auth, `course:join`
 * authorised against the database, the Redis streams adapter), broadcasting through
 * `app.realtime` — the emitter every service uses. IPC: `{type:'sign', ids}` → `{type:'tokens'}`.
 */
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';

await serve(async () => {
  const app = await buildApp(loadConfig(process.env));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.on('message', (message: { type?: string; ids: string[] }) => {
    if (message.type === 'sign') process.send!({ type: 'tokens', tokens: message.ids.map((id) => app.signAccessToken({ id, role: 'student' })) });
  });
  listenForBursts({
    emit: (room, event, payload) => app.realtime.emit(room, event as 'progress:updated', payload as never),
  });
  return { port: (app.server.address() as { port: number }).port, close: () => app.close() };
});
