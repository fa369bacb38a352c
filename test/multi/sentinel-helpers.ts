import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

/** A `redis-server` child (a data server or a Sentinel) on 127.0.0.1. */
export interface RedisChild {
  child: ChildProcess;
  port: number;
  /** What it printed so far, for failure messages. */
  output(): string;
  /** SIGKILL by PID (no shutdown, no goodbye to its clients), then wait for the exit. */
  kill(): Promise<void>;
}

async function startRedisChild(args: string[], port: number): Promise<RedisChild> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (/Ready to accept connections|Sentinel ID is/.test(output)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`redis-server ${args.join(' ')} exited with ${code}: ${output}`)));
  });
  return {
    child,
    port,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs `command` on a fresh connection to `port` and closes it. */
export async function ask<T>(port: number, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

export interface SentinelGroup {
  /** The master name the Sentinels monitor. */
  name: string;
  primary: RedisChild;
  replica: RedisChild;
  sentinels: RedisChild[];
  /** `REDIS_SENTINELS` for the processes under test. */
  sentinelList: string;
  /** The port the Sentinels now name as the primary. */
  primaryPort(): Promise<number>;
  /** Stops every process of the group (SIGKILL by PID) and removes its folder. */
  stop(): Promise<void>;
}

/**
 * A primary, one replica and three Sentinels (quorum 2), without persistence, on free ports of
 * 127.0.0.1. A primary that does not answer for `downAfterMs` is failed over to the replica.
 * Resolves once every Sentinel knows the replica and the two other Sentinels, so a failover can
 * happen. Every process started is tracked from the moment it is spawned: `stop()` ends them all
 * even when the start failed half-way (call it from `t.teardown`, registered before this).
 */
export function sentinelGroup(options: { name?: string; downAfterMs?: number; failoverTimeoutMs?: number } = {}): {
  started: Promise<SentinelGroup>;
  stop(): Promise<void>;
} {
  const name = options.name ?? 'classroom';
  const children: RedisChild[] = [];
  let folder: string | null = null;
  const track = async (start: Promise<RedisChild>) => {
    const child = await start;
    children.push(child);
    return child;
  };
  const stop = async () => {
    await Promise.all(children.map((child) => child.kill()));
    if (folder) await rm(folder, { recursive: true, force: true });
  };
  const data = (port: number, extra: string[] = []) =>
    // Diskless, at once: the replica's first sync does not wait the 5 s Redis 7 leaves for more replicas.
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      // A replica writes the snapshot it syncs from: into the group's folder, not the working directory.
      '--dir',
      folder!,
      '--dbfilename',
      `dump-${port}.rdb`,
      '--repl-diskless-sync',
      'yes',
      '--repl-diskless-sync-delay',
      '0',
      ...extra,
    ];
  const started = (async (): Promise<SentinelGroup> => {
    folder = await mkdtemp(join(tmpdir(), 'classroom-sentinel-'));
    const primary = await track(freePort().then((port) => startRedisChild(data(port), port)));
    const replica = await track(freePort().then((port) => startRedisChild(data(port, ['--replicaof', '127.0.0.1', String(primary.port)]), port)));
    await waitFor(
      'the replica to be in sync',
      () => ask(replica.port, (r) => r.info('replication')).then((info) => info.includes('master_link_status:up')),
      10_000,
      50,
    );
    // Started after the replica is in sync: a Sentinel learns the replicas from the primary's INFO,
    // which it reads at once when it connects and then only every 10 s.
    const sentinels: RedisChild[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(folder, `sentinel-${port}.conf`);
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${folder}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5000}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(await track(startRedisChild([conf, '--sentinel'], port)));
    }
    // Sentinels find each other through hello messages on the primary, every 2 s.
    await waitFor(
      'every Sentinel to know the replica and the other Sentinels',
      async () => {
        for (const sentinel of sentinels) {
          const [replicas, peers] = await ask(sentinel.port, (r) => Promise.all([r.call('SENTINEL', 'REPLICAS', name), r.call('SENTINEL', 'SENTINELS', name)]));
          if ((replicas as unknown[]).length !== 1 || (peers as unknown[]).length !== 2) return false;
        }
        return true;
      },
      15_000,
      100,
    );
    return {
      name,
      primary,
      replica,
      sentinels,
      sentinelList: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
      async primaryPort() {
        const [, port] = (await ask(sentinels[0]!.port, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name))) as [string, string];
        return Number(port);
      },
      stop,
    };
  })();
  return { started, stop };
}

/**
 * Resolves with the new primary's port when a Sentinel announces `+switch-master` for `name`
 * (subscribed before this returns, so call it before causing the failover).
 */
export async function switchMaster(sentinelPort: number, name: string, timeoutMs: number): Promise<{ switched: Promise<number>; close(): void }> {
  const subscriber = new Redis({ port: sentinelPort, host: '127.0.0.1', retryStrategy: () => null });
  subscriber.on('error', () => undefined);
  await subscriber.subscribe('+switch-master');
  let timer: NodeJS.Timeout | undefined;
  const switched = new Promise<number>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no +switch-master within ${timeoutMs} ms`)), timeoutMs);
    subscriber.on('message', (_channel, message: string) => {
      // "<name> <old ip> <old port> <new ip> <new port>"
      const [master, , , , port] = message.split(' ');
      if (master !== name) return;
      clearTimeout(timer);
      resolve(Number(port));
    });
  }).finally(() => subscriber.disconnect());
  return {
    switched,
    close() {
      clearTimeout(timer);
      subscriber.disconnect();
    },
  };
}
