/**
 * Scenario 13, baseline: the work a `course:join` cannot do without, on bare Socket.IO (the app's
 * options and the same Redis streams adapter, under its own stream; bare-socket-server.ts):
 * - the handshake verifies `auth.token` with `@fastify/jwt` configured as the app configures it
 *   (HS256, `exp` and `sub` required; one Fastify instance that never listens);
 * - `course:join {courseId}` runs one raw-`pg` SELECT (the app's shape: the user's standing, the
 *   course and the enrollment in one statement), joins `course:<id>` (and the instructors' room
 *   for the owner), runs one Redis round trip (`SADD` of the user to the course's set, with its
 *   `SCARD`) and acks `{ok: true, data: {courseId, onlineCount}}`;
 * - a disconnect `SREM`s the user, so the set is empty again between measurements.
 * No presence events, no attendance, no ORM.
 *
 * IPC: `{type:'cpu'}` → `{type:'cpu', cpuUs}` (CPU time since the previous ask); `{type:'settle'}` →
 * `{type:'settled'}` once no socket is connected and every `SREM` has answered.
 */
import jwt from '@fastify/jwt';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createBareSocketServer } from './bare-socket-server.js';
import { serve } from './serve.js';

type Ack = (response: unknown) => void;

await serve(async () => {
  const bare = createBareSocketServer('join-bare');
  const { io, config } = bare;
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
  const redis = new Redis(config.redisUrl, { connectionName: `${config.redisPrefix}-join-bare` });
  const verifier = Fastify({ logger: false });
  await verifier.register(jwt, { secret: config.jwtSecret, verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] } });
  await verifier.ready();
  const setKey = (courseId: string) => `${config.redisPrefix}:join-bare:${courseId}`;

  let pending = 0;
  let settleWaiter: (() => void) | null = null;
  const checkSettled = () => {
    if (settleWaiter && pending === 0 && io.of('/').sockets.size === 0) {
      settleWaiter();
      settleWaiter = null;
    }
  };

  io.use((socket, next) => {
    try {
      const claims = verifier.jwt.verify<{ sub: string; role: string }>(String((socket.handshake.auth as { token?: unknown }).token));
      socket.data.userId = claims.sub;
      next();
    } catch {
      next(Object.assign(new Error('unauthorized'), { data: { code: 'UNAUTHORIZED' } }));
    }
  });
  io.on('connection', (socket) => {
    const userId = socket.data.userId as string;
    const joined = new Set<string>();
    socket.on('course:join', async (data: { courseId?: string }, ack?: Ack) => {
      const courseId = String(data?.courseId);
      try {
        const {
          rows: [row],
        } = await pool.query<{ is_active: boolean; course_id: string | null; instructor_id: string | null; is_published: boolean; status: string | null }>(
          `SELECT u.is_active, c.id AS course_id, c.instructor_id, c.is_published, e.status
             FROM users u LEFT JOIN courses c ON c.id = $1 LEFT JOIN enrollments e ON e.course_id = c.id AND e.student_id = u.id
            WHERE u.id = $2`,
          [courseId, userId],
        );
        const isManager = row?.instructor_id === userId;
        if (!row?.is_active || !row.course_id || !row.is_published || (!isManager && !row.status)) {
          ack?.({ ok: false, error: { code: 'FORBIDDEN', message: 'not enrolled' } });
          return;
        }
        void socket.join(isManager ? [`course:${courseId}`, `course:${courseId}:instructors`] : `course:${courseId}`);
        joined.add(courseId);
        const results = await redis.multi().sadd(setKey(courseId), userId).scard(setKey(courseId)).exec();
        ack?.({ ok: true, data: { courseId, onlineCount: Number(results?.[1]?.[1] ?? 0) } });
      } catch (error) {
        ack?.({ ok: false, error: { code: 'UNAVAILABLE', message: (error as Error).message } });
      }
    });
    socket.on('disconnect', () => {
      for (const courseId of joined) {
        pending++;
        void redis
          .srem(setKey(courseId), userId)
          .catch(() => undefined)
          .finally(() => {
            pending--;
            checkSettled();
          });
      }
      // The socket leaves the namespace's map after its disconnect listeners ran.
      setImmediate(checkSettled);
    });
  });

  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'cpu') {
      const cpu = process.cpuUsage(cpuStart);
      cpuStart = process.cpuUsage();
      process.send!({ type: 'cpu', cpuUs: cpu.user + cpu.system });
    }
    if (message.type === 'settle') {
      settleWaiter = () => process.send!({ type: 'settled' });
      checkSettled();
    }
  });

  return {
    port: await bare.listen(),
    close: async () => {
      await bare.close();
      redis.disconnect();
      await pool.end();
      await verifier.close();
    },
  };
});
