import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Children of this test process still running: ended with it, however it ends. */
const running = new Set<ChildProcess>();

/**
 * Kills `child` when this process exits before it does: a test file that fails at the top level
 * never reaches its teardown, and a spawned API or worker would otherwise live on, holding its
 * port and its database. (A signal that kills this process outright runs no handler at all.)
 */
export function endWithThisProcess(child: ChildProcess): void {
  if (running.size === 0) process.once('exit', killRunning);
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (running.size === 0) process.off('exit', killRunning);
  });
}

function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Runs an entry file of this project the way its npm script does (`node --import tsx <file>`),
 * without npm in between, so that signals reach the process itself.
 */
export function spawnEntry(file: string, env: Record<string, string>, args: string[] = []): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: projectRoot,
    // tap's processinfo follows child processes; their coverage of a file would replace the
    // in-process coverage of the same file, so children report none.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  endWithThisProcess(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/**
 * Ports for children to listen on are picked below the kernel's ephemeral range (32768–60999 by
 * default), from which every outgoing connection of every process here takes its local port: a
 * port the OS handed out free for a moment could be taken by a connection to PostgreSQL or Redis
 * before the child bound it (seen as EADDRINUSE in CI).
 */
const CHILD_PORTS = { from: 20_000, to: 32_000 };

/** A TCP port of 127.0.0.1 that nobody listens on right now, for a child process to listen on. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = CHILD_PORTS.from + Math.floor(Math.random() * (CHILD_PORTS.to - CHILD_PORTS.from));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
    if (attempt >= 100) throw new Error('no free port for a child process');
  }
}

/** A private `redis-server` on `port` (no persistence), resolved once it accepts connections. */
export interface PrivateRedis {
  child: ChildProcess;
  url: string;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
}

export async function startRedisServer(port: number): Promise<PrivateRedis> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  endWithThisProcess(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` that a test can cut: `down()` refuses new
 * connections and resets open ones (a stopped server), `freeze()` keeps connections open but
 * forwards nothing (a hung server, as under SIGSTOP), `resume()` delivers what was held and
 * forwards again.
 */
export interface TcpProxy {
  port: number;
  down(): Promise<void>;
  freeze(): void;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const pairs = new Set<{ client: Socket; upstream: Socket | null }>();
  let frozen = false;
  const held: Array<() => void> = [];

  const open = (client: Socket) => {
    const pair = { client, upstream: null as Socket | null };
    pairs.add(pair);
    const start = () => {
      if (client.destroyed) return;
      const upstream = connect(target.port, target.host);
      pair.upstream = upstream;
      const pipe = (from: Socket, to: Socket) =>
        from.on('data', (chunk) => {
          if (frozen) held.push(() => to.write(chunk));
          else to.write(chunk);
        });
      pipe(client, upstream);
      pipe(upstream, client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        pairs.delete(pair);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    };
    if (frozen) held.push(start);
    else start();
  };

  let server = createServer(open);
  const listen = () => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen();
  const proxy: TcpProxy = {
    port,
    async down() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const { client, upstream } of pairs) {
          client.resetAndDestroy();
          upstream?.destroy();
        }
        pairs.clear();
      });
    },
    freeze() {
      frozen = true;
    },
    async resume() {
      frozen = false;
      // As a process after SIGCONT: what was sent meanwhile is delivered now, in order.
      for (const deliver of held.splice(0)) deliver();
      if (!server.listening) {
        server = createServer(open);
        await listen();
      }
    },
    async close() {
      frozen = false;
      held.length = 0;
      if (server.listening) await proxy.down();
    },
  };
  return proxy;
}
