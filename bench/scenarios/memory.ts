/**
 * Scenario 3, memory per connected, authenticated student in a room: RSS and V8 heap per socket
 * of the app from `buildApp` (JWT handshake auth, `course:join` authorised against the database,
 * presence, the Redis streams adapter — `servers/io-app.ts`) against bare Socket.IO with the same
 * options and adapter, where a socket joins its room on connect (`servers/io-bare.ts`). The
 * students sit in course rooms of `memoryRoomSize` (see `seedRooms`), the same on both sides.
 *
 * Method: each measurement gets a fresh server process (`--expose-gc`). After a warm-up (a few
 * sockets connect, join and leave, so lazily built code and caches exist before the first
 * reading) the server runs full GCs and reads `memoryUsage()`; then `memorySmall` sockets connect
 * and join (spread over the load-client processes) and it reads again after GC and a pause, then
 * more join up to `memoryLarge` and it reads a third time. Per socket at n = (reading at n −
 * first reading) / n. Alternated pairs; one server start and one connection storm per side and
 * pair cover both sizes, which keeps the full mode within a few minutes. The soft limit on open
 * files of the server and the clients is raised to the hard limit (`prlimit`): a socket is a
 * file descriptor.
 */
import pg from 'pg';
import type { BenchEnv } from '../lib/env.js';
import { raiseFileLimit } from '../lib/limits.js';
import { startChild, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';

interface Sizes {
  pairs: number;
  /** The two numbers of sockets reported. */
  memorySmall: number;
  memoryLarge: number;
  /** Students per course room (see `seedRooms`). */
  memoryRoomSize: number;
  /** Sockets that connect, join and leave before the first reading. */
  memoryWarmup: number;
  /** Pause spread over the GC rounds before each reading. */
  memorySettleMs: number;
  /** Load-client processes the sockets are spread over. */
  memoryClients: number;
  /** 1: a fresh server per measurement (full mode); 0: one per side for the whole run (smoke, where starting the app dominates). */
  memoryFreshServer: number;
  memoryConnectTimeoutMs: number;
}

export const memoryScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: {
    memorySmall: 5000,
    memoryLarge: 10_000,
    memoryRoomSize: 10_000,
    memoryWarmup: 100,
    memorySettleMs: 600,
    memoryClients: 2,
    memoryFreshServer: 1,
    memoryConnectTimeoutMs: 120_000,
  },
  smoke: {
    memorySmall: 200,
    memoryLarge: 400,
    memoryRoomSize: 400,
    memoryWarmup: 10,
    memorySettleMs: 60,
    memoryClients: 1,
    memoryFreshServer: 0,
    memoryConnectTimeoutMs: 20_000,
  },
  run: runMemory,
};

type Side = 'app' | 'bare';

interface Memory {
  rss: number;
  heapUsed: number;
}

interface Measured {
  rssPerSocket: number;
  heapPerSocket: number;
}

interface Seeded {
  studentIds: string[];
  /** The course room of each student, by index. */
  courseIds: string[];
}

/**
 * The students of `seedStudents` (all enrolled in the bench course), in rooms of `roomSize`:
 * the first room is the bench course, each further one a copy of it with its share enrolled.
 * One room in both modes (10,000 in full): since acks carry the count and instructors get paced
 * batches (docs/realtime.md, "Presence"), a room fills up in O(N). Before, every join was acked
 * with the room's list (O(N²): 5,000 students joining one course took 25–40 s on their own), and
 * this scenario used rooms of 500.
 */
async function seedRooms(databaseUrl: string, count: number, roomSize: number): Promise<Seeded> {
  const { courseId, studentIds } = await seedStudents(databaseUrl, count);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rooms = Math.ceil(studentIds.length / roomSize);
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO courses (title, slug, description, instructor_id, category, difficulty_level, is_published, estimated_duration_minutes, metadata)
       SELECT c.title || ' room ' || n, 'bench-room-' || n || '-' || gen_random_uuid(), c.description, c.instructor_id, c.category,
              c.difficulty_level, c.is_published, c.estimated_duration_minutes, c.metadata
         FROM courses c, generate_series(1, $2::int) AS n WHERE c.id = $1 ORDER BY n RETURNING id`,
      [courseId, rooms - 1],
    );
    const roomIds = [courseId, ...rows.map((row) => row.id)];
    const courseIds = studentIds.map((_, index) => roomIds[Math.floor(index / roomSize)]!);
    await client.query(
      `INSERT INTO enrollments (student_id, course_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) AS e(student_id, course_id) WHERE course_id <> $3`,
      [studentIds, courseIds, courseId],
    );
    return { studentIds, courseIds };
  } finally {
    await client.end();
  }
}

function startServer(bench: BenchEnv, side: Side): Child {
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim();
  const server = startChild('servers/io-memory.ts', 0, { ...bench.env, NODE_OPTIONS: nodeOptions }, [side]);
  raiseFileLimit(server);
  return server;
}

async function readMemory(server: Child, sizes: Sizes): Promise<Memory> {
  server.send({ type: 'memory', settleMs: sizes.memorySettleMs });
  return server.next<Memory>('memory', sizes.memorySettleMs + 30_000);
}

/** Connects sockets `[from, to)` of the seeded students, spread evenly over the clients; resolves once all joined. */
async function connect(server: Child, port: number, side: Side, clients: Child[], seeded: Seeded, from: number, to: number, sizes: Sizes): Promise<void> {
  let specs: Array<{ token?: string; room?: string; join?: string }>;
  if (side === 'app') {
    server.send({ type: 'sign', ids: seeded.studentIds.slice(from, to) });
    const { tokens } = await server.next<{ tokens: string[] }>('tokens');
    specs = tokens.map((token, index) => ({ token, join: seeded.courseIds[from + index]! }));
  } else {
    specs = seeded.courseIds.slice(from, to).map((courseId) => ({ room: `course:${courseId}` }));
  }
  const share = Math.ceil(specs.length / clients.length);
  const used = clients.filter((_, index) => index * share < specs.length);
  used.forEach((client, index) => client.send({ type: 'connect', url: `http://127.0.0.1:${port}`, sockets: specs.slice(index * share, (index + 1) * share) }));
  await Promise.all(used.map((client) => client.next('connected', sizes.memoryConnectTimeoutMs)));
}

async function disconnect(clients: Child[]): Promise<void> {
  for (const client of clients) client.send({ type: 'close' });
  await Promise.all(clients.map((client) => client.next('closed')));
}

async function runMemory(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const seeded = await seedRooms(bench.config.databaseUrl, Math.max(sizes.memoryLarge, sizes.memoryWarmup), sizes.memoryRoomSize);
  const clients = Array.from({ length: sizes.memoryClients }, () => startChild('clients/io-sockets.ts', 1));
  for (const client of clients) raiseFileLimit(client);
  /** Servers kept for the whole run when `memoryFreshServer` is 0. */
  const kept = new Map<Side, Promise<{ server: Child; port: number }>>();
  const started = async (side: Side) => {
    const server = startServer(bench, side);
    try {
      const { port } = await server.next<{ port: number }>('ready');
      // Lazily built code and caches (JIT, the auth and join paths, Redis scripts) before the first reading.
      await connect(server, port, side, clients, seeded, 0, sizes.memoryWarmup, sizes);
      await disconnect(clients);
      return { server, port };
    } catch (error) {
      await server.stop();
      throw error;
    }
  };

  /** Readings at `memorySmall`, then (more sockets joining the same server) at `memoryLarge`. */
  const measure = async (side: Side): Promise<Measured[]> => {
    let entry = kept.get(side);
    if (!entry) {
      entry = started(side);
      if (!sizes.memoryFreshServer) kept.set(side, entry);
    }
    const { server, port } = await entry;
    try {
      const before = await readMemory(server, sizes);
      const readings: Measured[] = [];
      let connected = 0;
      for (const n of [sizes.memorySmall, sizes.memoryLarge]) {
        await connect(server, port, side, clients, seeded, connected, n, sizes);
        connected = n;
        const after = await readMemory(server, sizes);
        readings.push({ rssPerSocket: (after.rss - before.rss) / n / 1024, heapPerSocket: (after.heapUsed - before.heapUsed) / n / 1024 });
      }
      await disconnect(clients);
      return readings;
    } finally {
      if (sizes.memoryFreshServer) await server.stop();
    }
  };

  try {
    await Promise.all(clients.map((client) => client.next('ready')));
    const pairs = await alternate(
      sizes.pairs,
      () => measure('app'),
      () => measure('bare'),
    );
    return [sizes.memorySmall, sizes.memoryLarge].flatMap((n, size) => {
      const row = (metric: string, pick: (m: Measured) => number) =>
        ratioRow(pairs, {
          scenario: '3 memory per socket',
          metric: `${metric} (${n} sockets, rooms of ${sizes.memoryRoomSize})`,
          pick: (readings) => pick(readings[size]!),
          better: 'lower',
          unit: 'KiB',
          goal: 1.25,
        });
      return [row('RSS per socket', (m) => m.rssPerSocket), row('heap per socket', (m) => m.heapPerSocket)];
    });
  } finally {
    const servers = await Promise.allSettled(kept.values());
    await Promise.all([
      ...clients.map((client) => client.stop()),
      ...servers.flatMap((result) => (result.status === 'fulfilled' ? [result.value.server.stop()] : [])),
    ]);
  }
}
