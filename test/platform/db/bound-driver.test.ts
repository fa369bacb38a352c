import t from '../../helpers/tap.js';
import { MikroORM, raw } from '@mikro-orm/postgresql';
import { createTestEnv } from '../../helpers/app.js';
import { ormOptions } from '../../../server/platform/db/orm-options.js';
import { sqlTransaction } from '../../../server/platform/db/sql.js';
import { Quiz, QuizQuestion, User } from '../../../entities/index.js';

// em.execute's parameters reach PostgreSQL as bind values (server/platform/db/bound-driver.ts),
// meaning what MikroORM's own formatting meant, and the ORM's statements keep working over it.
const env = await createTestEnv(t, 'bound-driver');
const orm = await MikroORM.init(ormOptions(env.config));
env.defer(() => orm.close(true));

t.test('values are bound: text reaches PostgreSQL as it is, never as SQL', async (t) => {
  const em = orm.em.fork();
  const text = `it's a \\ "quote"; DROP TABLE users; -- ? $1 ${'x'.repeat(20_000)}`;
  const [row] = await em.execute<Array<{ text: string; same: boolean }>>('SELECT ?::text AS text, ?::text = ? AS same', [text, text, text]);
  t.equal(row!.text, text, 'a 20 KB string with quotes, backslashes and placeholders comes back unchanged');
  t.equal(row!.same, true);
  // The statement PostgreSQL ran has placeholders, not the values.
  const [running] = await em.execute<Array<{ query: string }>>('SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid() AND ? = ?', ['a', 'a']);
  t.match(running!.query, /\$1 = \$2$/);
});

t.test('what each kind of value means', async (t) => {
  const em = orm.em.fork();
  const [row] = await em.execute<Array<Record<string, unknown>>>(
    `SELECT ?::jsonb AS object, ?::int[] AS list, ?::text IS NULL AS missing, ?::timestamptz AS at, ?::boolean AS yes, ? + 1 AS n`,
    [{ a: [1, 'two'], b: null }, [1, 2, 3], undefined, new Date('2026-12-06T12:00:00.000Z'), true, 41],
  );
  t.same(row!.object, { a: [1, 'two'], b: null }, 'a plain object is JSON');
  t.same(row!.list, [1, 2, 3], 'an array is one value, a PostgreSQL array');
  t.equal(row!.missing, true, 'undefined is NULL');
  t.equal(new Date(row!.at as string).toISOString(), '2026-12-06T12:00:00.000Z', 'a Date keeps its instant');
  t.equal(row!.yes, true);
  t.equal(row!.n, 42);
  const [empty] = await em.execute<Array<{ n: number }>>('SELECT 7 AS n');
  t.equal(empty!.n, 7, 'a statement without parameters');
});

t.test('inside sqlTransaction the statements share its transaction', async (t) => {
  const em = orm.em.fork();
  await em.execute('CREATE TABLE bound_tx (v text)');
  await t.rejects(
    sqlTransaction(em, async (tx) => {
      await tx.execute('INSERT INTO bound_tx (v) VALUES (?)', ['rolled back']);
      const [seen] = await tx.execute<Array<{ n: string }>>('SELECT count(*) AS n FROM bound_tx WHERE v = ?', ['rolled back']);
      t.equal(Number(seen!.n), 1, 'seen inside');
      throw new Error('abort');
    }),
    /abort/,
  );
  const [after] = await em.execute<Array<{ n: string }>>('SELECT count(*) AS n FROM bound_tx WHERE v = ?', ['rolled back']);
  t.equal(Number(after!.n), 0, 'gone with the rollback');
});

t.test("the ORM's statements: JSON properties, batch inserts with defaults, raw fragments", async (t) => {
  const em = orm.em.fork();
  const owner = em.create(User, { email: 'bound@example.com', fullName: 'Bound', role: 'instructor', passwordHash: 'x', metadata: { theme: 'dark' } });
  const quiz = em.create(Quiz, { title: 'Q' });
  // Two questions in one batch insert; the second has no options, which MikroORM writes as a raw `default`.
  em.create(QuizQuestion, {
    quiz,
    questionText: 'Pick',
    questionType: 'multiple_choice',
    points: 1,
    orderIndex: 0,
    options: [{ id: 'a', text: 'A', isCorrect: true }],
  });
  em.create(QuizQuestion, { quiz, questionText: 'True?', questionType: 'true_false', points: 1, orderIndex: 1, correctAnswer: true });
  await em.flush();
  const rows = await em.execute<Array<{ kind: string | null; options: unknown; correct: unknown }>>(
    'SELECT jsonb_typeof(options) AS kind, options, correct_answer AS correct FROM quiz_questions WHERE quiz_id = ? ORDER BY order_index',
    [quiz.id],
  );
  t.same(
    rows.map((row) => [row.kind, row.options, row.correct]),
    [
      ['array', [{ id: 'a', text: 'A', isCorrect: true }], null],
      [null, null, true],
    ],
  );
  const [user] = await em.execute<Array<{ theme: string }>>(`SELECT metadata ->> 'theme' AS theme FROM users WHERE id = ?`, [owner.id]);
  t.equal(user!.theme, 'dark', 'a JSON object property');
  const fresh = orm.em.fork();
  const found = await fresh.findOneOrFail(User, { email: 'bound@example.com', createdAt: { $lte: raw('now()') as unknown as Date } });
  t.equal(found.id, owner.id, 'a query builder condition with a raw fragment');
});
