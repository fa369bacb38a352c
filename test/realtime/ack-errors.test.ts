import t from '../helpers/tap.js';
import { ForeignKeyConstraintViolationException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { runClientEvent, type BindDeps } from '../../server/realtime/ack.js';
import { TokenBucket } from '../../server/realtime/rate-limit.js';
import type { ClientConnection } from '../../server/realtime/types.js';
import type { ServiceDeps } from '../../server/modules/deps.js';
import { AppError } from '../../server/platform/errors.js';
import { mapError } from '../../server/platform/error-mapping.js';
import { BusyError } from '../../server/platform/work-limiter.js';
import { toErrorBody } from '../../server/plugins/errors.js';

/** A driver error as PostgreSQL reports a unique violation (SQLSTATE 23505), wrapped by MikroORM. */
function uniqueViolation(): Error {
  const driverError = Object.assign(new Error('insert into "enrollments" … - duplicate key value violates unique constraint "enrollments_student_course"'), {
    code: '23505',
    severity: 'ERROR',
    constraint: 'enrollments_student_course',
  });
  return new UniqueConstraintViolationException(driverError);
}

const connection: ClientConnection = {
  id: 'conn-1',
  data: { userId: '8a6e0804-2bd0-4672-b79e-d97ff5d5e8f5', role: 'student', expiresAt: Date.now() + 60_000 },
  rooms: new Set(),
  connected: true,
  join: () => undefined,
  leave: () => undefined,
};

function bindDeps(logged: unknown[]): BindDeps {
  const log = {
    error: (obj: unknown) => void logged.push(obj),
    warn: () => undefined,
    info: () => undefined,
    debug: () => undefined,
  } as unknown as BindDeps['log'];
  return { forkDeps: () => ({ em: {} }) as ServiceDeps, log, bucket: new TokenBucket(100, 100) };
}

async function ackOf(error: unknown, logged: unknown[] = []) {
  return runClientEvent(
    connection,
    'course:leave',
    { courseId: '8a6e0804-2bd0-4672-b79e-d97ff5d5e8f5' },
    async () => {
      throw error;
    },
    bindDeps(logged),
  );
}

t.test('a unique violation acks CONFLICT, as HTTP answers 409', async (t) => {
  const logged: unknown[] = [];
  const ack = await ackOf(uniqueViolation(), logged);
  t.same(ack, { ok: false, error: { code: 'CONFLICT', message: 'The resource already exists' } });
  t.equal(toErrorBody(uniqueViolation())?.statusCode, 409);
  t.same(logged, [], 'an expected error is not logged as a failure');
});

t.test('acks carry the code and message HTTP sends, for every kind of error', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['domain error', new AppError('QUIZ_TIME_EXPIRED', 'The time is up')],
    ['unique violation', uniqueViolation()],
    ['foreign key violation', new ForeignKeyConstraintViolationException(Object.assign(new Error('fk'), { code: '23503' }))],
    ['database away', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['busy', new BusyError('The server is busy with renders; retry in 3 s', 3)],
    ['a 4xx error of a library', Object.assign(new Error('Not acceptable'), { statusCode: 406 })],
  ];
  for (const [name, error] of cases) {
    const http = toErrorBody(error)!;
    const { retryAfter } = mapError(error)!;
    const ack = await ackOf(error);
    t.same(ack, { ok: false, error: { code: http.code, message: http.message, ...(retryAfter ? { retryAfter } : {}) } }, name);
  }
});

t.test("the retry delay HTTP sends in Retry-After is the ack's retryAfter", async (t) => {
  t.match(await ackOf(new BusyError('The server is busy with renders; retry in 3 s', 3)), { ok: false, error: { code: 'UNAVAILABLE', retryAfter: 3 } });
  t.match(await ackOf(Object.assign(new Error('Connection terminated unexpectedly'), {})), { ok: false, error: { code: 'UNAVAILABLE', retryAfter: 5 } });
  t.equal(mapError(new BusyError('busy', 3))?.retryAfter, 3, 'a 503 with its own delay keeps it');
});

t.test('an unexpected error acks INTERNAL_ERROR, masked, and is logged', async (t) => {
  const logged: unknown[] = [];
  const ack = await ackOf(new TypeError('x is undefined'), logged);
  t.match(ack, { ok: false, error: { code: 'INTERNAL_ERROR' } });
  t.notMatch(JSON.stringify(ack), /x is undefined/);
  t.equal(logged.length, 1);
});
