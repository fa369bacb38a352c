import t from '../../helpers/tap.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { MikroORM, UniqueConstraintViolationException, DriverException } from '@mikro-orm/postgresql';
import { createTestEnv } from '../../helpers/app.js';
import { ormOptions } from '../../../server/platform/db/orm-options.js';
import { User } from '../../../entities/index.js';
import { errSerializer, isQueryError, redactQueryMessage, sqlWithoutValues, withoutQueryValues } from '../../../server/platform/db/query-errors.js';
import { loggerOptions } from '../../../server/platform/logger.js';

// Real errors from the real driver: what MikroORM and pg actually put in them.
const env = await createTestEnv(t, 'query-errors');
const orm = await MikroORM.init(ormOptions(env.config));
env.defer(() => orm.close(true));

async function failure(run: () => Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await run();
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected a failure');
}

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$SECRETHASHVALUE';

async function duplicateUser(): Promise<Error & Record<string, any>> {
  const email = 'ada.unique@example.com';
  const first = orm.em.fork();
  first.create(User, { email, fullName: 'Ada First', role: 'student', passwordHash: 'first-hash' });
  await first.flush();
  const second = orm.em.fork();
  second.create(User, { email, fullName: 'Ada Second', role: 'student', passwordHash: HASH });
  return failure(() => second.flush());
}

t.test('what a unique violation carries, and what is left of it', async (t) => {
  const error = await duplicateUser();
  t.type(error, UniqueConstraintViolationException);
  // The facts the redaction exists for (if they change, the test says so). The statement's values
  // are bound (bound-driver.ts), so the statement in the message carries none; the detail still does.
  t.notOk(error.message.includes(HASH), 'bound parameters: no values in the statement');
  t.match(error.message, /values \(\$1, \$2, \$3/);
  t.match(error.message, /detail: Key \(email\)=\(ada\.unique@example\.com\) already exists/, 'MikroORM appends the detail');
  t.match(error.detail, /ada\.unique@example\.com/, 'which is also a property');

  const safe = withoutQueryValues(error);
  t.type(safe, UniqueConstraintViolationException, 'same class: instanceof checks still hold');
  t.not(safe, error, 'a copy; the original is untouched');
  t.match(error.message, /ada\.unique@example\.com/);
  t.match(
    safe.message,
    /^insert into "users" \("id", "email", "password_hash", "full_name", .*\) values \(\$1, \$2, \$3, \$4, .*\) - duplicate key value violates unique constraint "users_email_unique"$/,
  );
  for (const field of ['code', 'table', 'constraint', 'schema', 'routine'] as const) t.equal((safe as any)[field], error[field], field);
  t.equal((safe as any).detail, undefined);
  const serialized = JSON.stringify(errSerializer(error));
  for (const secret of [HASH, 'ada.unique@example.com', 'Ada Second', 'SECRETHASHVALUE']) t.notOk(serialized.includes(secret), `${secret} is gone`);
  t.match(JSON.parse(serialized), { type: 'UniqueConstraintViolationException', code: '23505', constraint: 'users_email_unique', table: 'users' });
  t.match(JSON.parse(serialized).stack, /^UniqueConstraintViolationException: insert into "users"[^\n]*\n\s+at /, 'the stack keeps its frames');
});

t.test('raw pg errors from em.execute, values quoted by PostgreSQL, E-strings and numbers', async (t) => {
  const em = orm.em.fork();
  const cast = await failure(() => em.getConnection().execute('select ?::int as n, ? as other', ['not-a-number-CANARY', 'it\'s \\ "quoted"']));
  t.ok(isQueryError(cast), 'a pg DatabaseError counts');
  t.match(cast.message, /CANARY/);
  const safe = withoutQueryValues(cast);
  t.equal(safe.message, 'select $1::int as n, $2 as other - invalid input syntax for type integer: "?"');
  t.notOk(JSON.stringify(errSerializer(cast)).includes('CANARY'));

  const check = await failure(() =>
    em
      .getConnection()
      .execute(`insert into users (id, email, password_hash, full_name, role) values (gen_random_uuid(), ?, ?, ?, ?)`, ['x@example.com', HASH, 'N', 'wizard']),
  );
  const safeCheck = withoutQueryValues(check);
  t.match(
    safeCheck.message,
    /new row for relation "users" violates check constraint "users_role_check"$/,
    'identifiers named by the statement or the error stay',
  );
  t.notOk(JSON.stringify(errSerializer(check)).includes('wizard'), 'the failing row (detail) is gone');
  t.notOk(JSON.stringify(errSerializer(check)).includes(HASH));

  t.equal(
    sqlWithoutValues(`update t set a = 12.5, b = -3, c =  E'back\\\\slash', d = 'it''s', e = t0.x + 1e3 where id = $1 limit 20`),
    'update t set a = ?, b = ?, c = ?, d = ?, e = t0.x + ? where id = $1 limit ?',
  );
  t.equal(redactQueryMessage('relation "secret_value" does not exist'), 'relation "?" does not exist', 'no statement: only named identifiers survive');
  t.equal(redactQueryMessage('relation "courses" does not exist', ['courses']), 'relation "courses" does not exist');
});

t.test('query errors inside other errors, and errors that are not query errors', async (t) => {
  const inner = await duplicateUser().catch((error) => error as Error);
  const wrapped = new Error(`recalculation failed: ${inner.message}`, { cause: inner });
  const safe = withoutQueryValues(wrapped);
  t.not(safe, wrapped);
  t.notOk(safe.message.includes(HASH), "the wrapper's copy of the message is redacted too");
  t.type((safe as any).cause, DriverException);
  const serialized = JSON.stringify(errSerializer(wrapped));
  t.notOk(serialized.includes(HASH), 'pino appends the cause to message and stack: nothing leaks');
  t.notOk(serialized.includes('ada.unique@example.com'));

  const aggregate = new AggregateError([inner, new Error('plain')], 'several');
  t.notOk(JSON.stringify(errSerializer(aggregate)).includes(HASH));

  const plain = new TypeError('nothing to hide');
  t.equal(withoutQueryValues(plain), plain, 'other errors are passed through untouched');
  t.equal(withoutQueryValues('a string'), 'a string');
  t.match(errSerializer(plain), { type: 'TypeError', message: 'nothing to hide' });
});

t.test('the loggers use it', async (t) => {
  const error = await failure(() => orm.em.fork().getConnection().execute('select ?::int', ['LOGGED-CANARY']));
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) });
  const options = loggerOptions({ logLevel: 'info' }) as pino.LoggerOptions;
  const logger = pino(options, sink);
  logger.error({ err: error }, 'failed');
  logger.child({ reqId: 'r1' }).error({ err: error }, 'failed in a request');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(lines.length, 2);
  for (const line of lines) {
    t.notOk(line.includes('LOGGED-CANARY'), line);
    t.match(JSON.parse(line).err, { code: '22P02', message: /select \$1::int - invalid input syntax/ });
  }
});
