import t from '../helpers/tap.js';
import { readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createTestEnv } from '../helpers/app.js';
import { freePort, projectRoot, spawnEntry, type Spawned } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { dropDatabase } from '../../server/platform/db/database.js';
import { checkDependencies } from '../../server/platform/startup-check.js';

// A migrated database and a Redis prefix of this file's own, for the processes below.
const { env } = await createTestEnv(t, 'startup');

/** The non-empty lines a process wrote before it exited, with its exit code; fails after 30 s. */
async function runToExit(spawned: Spawned): Promise<{ code: number | null; lines: string[] }> {
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), 30_000);
  const { code } = await spawned.exited;
  clearTimeout(timer);
  return {
    code,
    lines: spawned
      .output()
      .split('\n')
      .filter((line) => line.trim() !== ''),
  };
}

t.test('without PostgreSQL, `npm start` and `npm run worker` print one line saying what to do, and exit 69', async (t) => {
  const port = await freePort();
  const entries = ['server/main.ts', 'workers/main.ts'];
  // Both at once: each spends most of its time loading.
  const runs = await Promise.all(
    entries.map(async (entry) =>
      runToExit(
        spawnEntry(entry, {
          ...env,
          DATABASE_URL: `postgresql://postgres:secret@127.0.0.1:${port}/classroom`,
          LOG_LEVEL: 'info',
          HOST: '127.0.0.1',
          PORT: String(await freePort()),
        }),
      ),
    ),
  );
  for (const [i, entry] of entries.entries()) {
    const { code, lines } = runs[i]!;
    t.equal(code, 69, `${entry}: EX_UNAVAILABLE`);
    t.equal(lines.length, 1, `${entry}: one line\n${lines.join('\n')}`);
    t.match(lines[0], /PostgreSQL/);
    t.match(lines[0], 'DATABASE_URL');
    t.match(lines[0], `127.0.0.1:${port}`, 'the address it tried');
    t.match(lines[0], 'docker compose up -d');
    t.match(lines[0], /\bpostgresql\b/, 'the package to install');
    t.notMatch(lines[0], 'secret', 'never the password');
  }
});

t.test('without Redis, `npm start` and `npm run worker` print one line saying what to do, and exit 69', async (t) => {
  const port = await freePort();
  const entries = ['server/main.ts', 'workers/main.ts'];
  const runs = await Promise.all(
    entries.map(async (entry) =>
      runToExit(spawnEntry(entry, { ...env, REDIS_URL: `redis://127.0.0.1:${port}`, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(await freePort()) })),
    ),
  );
  for (const [i, entry] of entries.entries()) {
    const { code, lines } = runs[i]!;
    t.equal(code, 69, `${entry}: EX_UNAVAILABLE`);
    t.equal(lines.length, 1, `${entry}: one line\n${lines.join('\n')}`);
    t.match(lines[0], /Redis/);
    t.match(lines[0], 'REDIS_URL');
    t.match(lines[0], `127.0.0.1:${port}`);
    t.match(lines[0], 'docker compose up -d');
    t.match(lines[0], 'redis-server', 'the package to install');
  }
});

t.test('the start-up check names each missing service once, and nothing when both answer', async (t) => {
  t.same(await checkDependencies({ databaseUrl: env.DATABASE_URL!, redisUrl: env.REDIS_URL!, redisSentinel: null }), []);
  const [pgPort, redisPort] = [await freePort(), await freePort()];
  const problems = await checkDependencies({
    databaseUrl: `postgresql://app:secret@127.0.0.1:${pgPort}/classroom`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    redisSentinel: null,
  });
  t.equal(problems.length, 2);
  t.match(problems[0], `PostgreSQL at 127.0.0.1:${pgPort} (DATABASE_URL)`);
  t.match(problems[1], `Redis at 127.0.0.1:${redisPort} (REDIS_URL)`);
  const socket = await checkDependencies({
    databaseUrl: 'postgresql://app@localhost/classroom?host=/nonexistent-socket-dir',
    redisUrl: env.REDIS_URL!,
    redisSentinel: null,
  });
  t.match(socket[0], 'PostgreSQL at /nonexistent-socket-dir (DATABASE_URL)', 'a Unix socket folder is named as such');
  const sentinelPort = await freePort();
  const sentinel = { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'classroom', password: null };
  const viaSentinels = await checkDependencies({ databaseUrl: env.DATABASE_URL!, redisUrl: env.REDIS_URL!, redisSentinel: sentinel });
  t.equal(viaSentinels.length, 1, 'with Sentinels, REDIS_URL’s address is not tried');
  t.match(viaSentinels[0], `the Redis primary "classroom" through the Sentinels at 127.0.0.1:${sentinelPort} (REDIS_SENTINELS, REDIS_SENTINEL_NAME)`);
  t.match(viaSentinels[0], 'set REDIS_SENTINELS and REDIS_SENTINEL_NAME to a running server');
});

t.test('two instances starting at once on an empty database both serve, and each migration is applied once', async (t) => {
  const url = new URL(env.DATABASE_URL!);
  url.pathname = `/test_startup_fresh_${randomBytes(4).toString('hex')}`;
  t.teardown(() => dropDatabase(url.toString()));
  const ports = [await freePort(), await freePort()];
  const instances = ports.map((port) =>
    spawnEntry('server/main.ts', { ...env, DATABASE_URL: url.toString(), HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info' }),
  );
  t.teardown(async () => {
    for (const instance of instances) {
      if (instance.child.exitCode === null && instance.child.signalCode === null) instance.child.kill('SIGKILL');
      await instance.exited;
    }
  });
  for (const [i, port] of ports.entries()) {
    await waitFor(
      `instance ${i + 1} to be ready`,
      async () => {
        if (instances[i]!.child.exitCode !== null) throw new Error(`instance ${i + 1} exited:\n${instances[i]!.output()}`);
        return (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => null))?.status === 200;
      },
      60_000,
      100,
    );
  }

  const files = (await readdir(`${projectRoot}/migrations`)).filter((name) => /^Migration\d+_.*\.ts$/.test(name)).map((name) => name.replace(/\.ts$/, ''));
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const { rows } = await client.query<{ name: string; n: number }>('SELECT name, count(*)::int AS n FROM mikro_orm_migrations GROUP BY name ORDER BY name');
  await client.end();
  t.same(rows.map((row) => row.name).sort(), files.sort(), 'every migration is recorded');
  t.ok(
    rows.every((row) => row.n === 1),
    'once each',
  );
  const applied = instances.map((instance) => /"migrations applied"/.test(instance.output()));
  t.equal(applied.filter(Boolean).length, 1, 'one of the two applied them; the other found nothing to do');

  for (const instance of instances) instance.child.kill('SIGTERM');
  for (const instance of instances) t.equal((await instance.exited).code, 0, 'clean shutdown');
});
