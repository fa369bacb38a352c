/**
 * Scenario 5, system under test: the real app from `buildApp`, listening on loopback.
 * IPC: sends `{type:'ready', port, token}` (an access token of `BENCH_INSTRUCTOR_ID`).
 */
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import { serve } from './serve.js';

await serve(async () => {
  const app = await buildApp(loadConfig(process.env));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const token = app.signAccessToken({ id: process.env.BENCH_INSTRUCTOR_ID!, role: 'instructor' });
  return { port: (app.server.address() as { port: number }).port, token, close: () => app.close() };
});
