import { DriverException } from '@mikro-orm/core';
import { stdSerializers } from 'pino';

/**
 * Query errors without the values in them.
 *
 * MikroORM inlines every parameter into the SQL it sends (`Platform.formatQuery`), and knex
 * prefixes a failed query's error message with that SQL: `insert into "users" (...) values
 * ('<uuid>', 'ada@example.com', '$argon2id$…', …) - <PostgreSQL's message>`. MikroORM's exception
 * converter then appends PostgreSQL's `detail` (`Key (email)=(ada@example.com) already exists`,
 * `Failing row contains (…)`) and `hint`, and copies `detail`, `where` and friends onto the error
 * as properties. Logged as is, one failed user insert writes an email and a password hash.
 *
 * The redacted error keeps what a person needs to find the fault: the class, the statement with
 * `?` for every literal, PostgreSQL's own message (its quoted identifiers kept, quoted values
 * replaced), the SQLSTATE `code`, `table`, `column`, `constraint` and the stack frames.
 */

/** Properties of a PostgreSQL error that name things rather than carry data. */
const KEPT_PROPERTIES = ['code', 'severity', 'schema', 'table', 'column', 'constraint', 'dataType', 'routine'] as const;

/** A MikroORM exception or a raw `pg` error from PostgreSQL (which has a SQLSTATE and a severity). */
export function isQueryError(error: unknown): error is Error & Record<string, unknown> {
  if (error instanceof DriverException) return true;
  if (!(error instanceof Error)) return false;
  const candidate = error as Error & { code?: unknown; severity?: unknown };
  return typeof candidate.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code) && typeof candidate.severity === 'string';
}

// Literals as pg's escapeLiteral writes them: '…' with '' inside, or ` E'…'` (its own leading
// space included) when the value has backslashes.
const STRING_LITERAL = /(?: E)?'(?:[^']|'')*'/g;
// Numbers that stand alone (not part of an identifier like t0 or a placeholder like $1).
const NUMBER_LITERAL = /(?<![\w$.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w.])/gi;
const DOUBLE_QUOTED = /"((?:[^"]|"")*)"/g;

/** `sql` with every string and number literal replaced by `?`. */
export function sqlWithoutValues(sql: string): string {
  return sql.replace(STRING_LITERAL, '?').replace(NUMBER_LITERAL, '?');
}

const unquote = (quoted: string) => quoted.replaceAll('""', '"');

/**
 * The message of a query error without values: the details MikroORM appends are dropped and the
 * statement's literals replaced. PostgreSQL quotes identifiers and offending values alike
 * (`invalid input syntax for type integer: "…"`), so a double-quoted word of its message is
 * kept only when the statement or the error's own fields (`named`) name it.
 */
export function redactQueryMessage(message: string, named: Iterable<unknown> = []): string {
  const [head = ''] = message.split(/\n - (?:detail|hint): /);
  // knex writes "<statement> - <PostgreSQL's message>"; errors raised outside a query have no statement.
  const separator = head.lastIndexOf(' - ');
  const statement = separator === -1 ? '' : sqlWithoutValues(head.slice(0, separator));
  const serverMessage = (separator === -1 ? head : head.slice(separator)).replace(STRING_LITERAL, '?');
  const known = new Set<string>();
  for (const name of named) if (typeof name === 'string') known.add(name);
  for (const [, quoted] of statement.matchAll(DOUBLE_QUOTED)) known.add(unquote(quoted));
  for (const word of statement.replace(DOUBLE_QUOTED, ' ').match(/[A-Za-z_][\w$]*/g) ?? []) known.add(word);
  return statement + serverMessage.replace(DOUBLE_QUOTED, (whole, quoted: string) => (known.has(unquote(quoted)) ? whole : '"?"'));
}

function stackFrames(stack: string | undefined): string {
  return (stack ?? '')
    .split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n');
}

/** A copy of a query error (same class, so `instanceof` still holds) without values. */
function redactedCopy(error: Error & Record<string, unknown>): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error & Record<string, unknown>;
  const named = KEPT_PROPERTIES.map((key) => error[key]);
  const message = redactQueryMessage(error.message, named);
  for (const key of KEPT_PROPERTIES) if (error[key] !== undefined) copy[key] = error[key];
  Object.defineProperty(copy, 'name', { value: error.name, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(copy, 'message', { value: message, enumerable: false, writable: true, configurable: true });
  const frames = stackFrames(error.stack);
  Object.defineProperty(copy, 'stack', {
    value: `${error.name}: ${message}${frames ? `\n${frames}` : ''}`,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return copy;
}

function containsQueryError(error: unknown, depth = 0): boolean {
  if (depth > 8 || !(error instanceof Error)) return false;
  if (isQueryError(error)) return true;
  if (containsQueryError((error as { cause?: unknown }).cause, depth + 1)) return true;
  const nested = (error as { errors?: unknown }).errors;
  return Array.isArray(nested) && nested.some((inner) => containsQueryError(inner, depth + 1));
}

/**
 * `error` safe to log or to keep (BullMQ stores a failed job's message and stack in Redis):
 * query errors, also as the `cause` of another error or inside an `AggregateError`, are replaced
 * by redacted copies; anything else is returned as it is.
 */
export function withoutQueryValues<T>(error: T, depth = 0): T {
  if (!(error instanceof Error) || depth > 8 || !containsQueryError(error)) return error;
  if (isQueryError(error)) return redactedCopy(error) as T;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error & Record<string, unknown>;
  for (const key of Reflect.ownKeys(error)) {
    Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(error, key)!);
  }
  let message = error.message;
  let stack = error.stack;
  // A wrapper may have copied its cause's message into its own.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && containsQueryError(cause)) {
    const safeCause = withoutQueryValues(cause, depth + 1);
    if (isQueryError(cause)) {
      message = message.split(cause.message).join(safeCause.message);
      stack = stack?.split(cause.message).join(safeCause.message);
    }
    Object.defineProperty(copy, 'cause', { value: safeCause, enumerable: false, writable: true, configurable: true });
  }
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested)) copy.errors = nested.map((inner: unknown) => withoutQueryValues(inner, depth + 1));
  Object.defineProperty(copy, 'message', { value: message, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: stack, enumerable: false, writable: true, configurable: true });
  return copy as T;
}

/** pino's `err` serializer, on an error whose query values are gone. */
export function errSerializer(error: Error): ReturnType<typeof stdSerializers.err> {
  return stdSerializers.err(withoutQueryValues(error));
}
