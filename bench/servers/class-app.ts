/**
 * Scenarios 6–7, system under test: the real app from `buildApp` (handshake auth, `course:join`,
 * the `quiz:submit` and `lesson:progress` handlers, the Redis streams adapter), listening on
 * loopback. IPC: `{type:'sign', users: [{id, role}]}` → `{type:'tokens', tokens}` (access tokens;
 * the handshake checks the role against the database, so the instructor's says `instructor`).
 * `{type:'cpu'}` → `{type:'cpu', cpuUs}`: this process's CPU time since the previous ask.
 * With `BENCH_CPU_PROF_DIR` set, it writes a CPU profile of its run there (see cpu-profile.ts).
 */
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import type { AuthUser } from '../../server/plugins/auth.js';
import { serve } from './serve.js';

await serve({ cpuProfile: 'class-app' }, async () => {
  const app = await buildApp(loadConfig(process.env));
  await app.listen({ host: '127.0.0.1', port: 0 });
  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string; users: AuthUser[] }) => {
    if (message.type === 'sign') process.send!({ type: 'tokens', tokens: message.users.map((user) => app.signAccessToken(user)) });
    if (message.type === 'cpu') sendCpu();
  });
  const sendCpu = () => {
    const cpu = process.cpuUsage(cpuStart);
    cpuStart = process.cpuUsage();
    process.send!({ type: 'cpu', cpuUs: cpu.user + cpu.system });
  };
  return {
    port: (app.server.address() as { port: number }).port,
    close: () => app.close(),
  };
});
