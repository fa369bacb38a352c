/**
 * Scenario 10, item statistics: `GET /api/quizzes/:id/stats` over `statsStudents` ×
 * `statsAttemptsEach` graded attempts of a `statsQuestions`-question quiz (lib/seed-stats.ts),
 * requested one at a time by the quiz's owner; the p50 of `statsRequests` requests per
 * measurement. Ours is the app from `buildApp` (servers/http-app.ts: auth, the quiz read, the
 * aggregate statements of quizzes.queries.ts `quizPercentageSums` and `quizItemSums`, the figures
 * in Node, the JSON reply). The baseline is a bare raw-SQL computation of the same numbers from this process over
 * `pg`, with PostgreSQL's own aggregates (`avg`, `percentile_cont`, `stddev_samp`, `var_samp`,
 * `corr`) instead of our sums, plus the answer counts: no HTTP, no auth, no JSON schema. Before
 * measuring, the two must agree on every figure (to 4 decimals).
 */
import pg from 'pg';
import type { BenchEnv } from '../lib/env.js';
import { startChild, quantile } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, type Scenario } from '../lib/scenario.js';
import { seedStats } from '../lib/seed-stats.js';

interface Sizes {
  pairs: number;
  statsStudents: number;
  statsAttemptsEach: number;
  statsQuestions: number;
  statsRequests: number;
}

export const statsScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { statsStudents: 2500, statsAttemptsEach: 4, statsQuestions: 20, statsRequests: 15 },
  smoke: { statsStudents: 50, statsAttemptsEach: 4, statsQuestions: 20, statsRequests: 3 },
  run: runStats,
};

interface Figures {
  count: number;
  mean: number | null;
  median: number | null;
  standardDeviation: number | null;
  reliability: number | null;
  items: Array<{ questionId: string; facility: number | null; discrimination: number | null; answers: Array<[string, number]> }>;
}

const BASELINE_SQL = `
  WITH picked AS (SELECT id, percentage, results FROM quiz_attempts WHERE quiz_id = $1 AND status = 'graded'),
  cells AS (
    SELECT p.id, r."questionId" AS question_id, r.points AS x, r."maxPoints" AS m, r.answer
      FROM picked p, jsonb_to_recordset(p.results->'questions') AS r("questionId" text, points float8, "maxPoints" float8, answer jsonb)
     WHERE r."questionId" IN (SELECT id::text FROM quiz_questions WHERE quiz_id = $1)
  ),
  totals AS (SELECT id, sum(x) AS t FROM cells GROUP BY id),
  items AS (
    SELECT c.question_id, avg(c.x / c.m) AS facility, corr(c.x, t.t - c.x) AS discrimination, var_samp(c.x) AS variance
      FROM cells c JOIN totals t USING (id) GROUP BY c.question_id
  ),
  answers AS (
    SELECT question_id, lower(regexp_replace(btrim(key), '\\s+', ' ', 'g')) AS key, count(*)::int AS n FROM (
      SELECT question_id, CASE jsonb_typeof(answer) WHEN 'string' THEN answer #>> '{}' ELSE answer::text END AS key
        FROM cells WHERE jsonb_typeof(answer) IN ('string', 'boolean')
      UNION ALL
      SELECT question_id, jsonb_array_elements_text(answer) FROM cells WHERE jsonb_typeof(answer) = 'array'
    ) a GROUP BY 1, 2
  )
  SELECT (SELECT count(*)::int FROM picked) AS count,
         (SELECT avg(percentage)::float8 FROM picked) AS mean,
         (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY percentage) FROM picked) AS median,
         (SELECT stddev_samp(percentage)::float8 FROM picked) AS sd,
         (SELECT count(*)::int FROM items) AS k,
         (SELECT sum(variance) FROM items) AS item_variances,
         (SELECT var_samp(t) FROM totals) AS total_variance,
         (SELECT json_agg(i) FROM items i) AS items,
         (SELECT json_agg(a) FROM answers a) AS answers`;

const r4 = (value: number | null) => (value === null ? null : Math.round(value * 10000) / 10000);

/** The bare computation: one statement, alpha from its variances. */
async function baselineFigures(pool: pg.Pool, quizId: string): Promise<Figures> {
  const { rows } = await pool.query(BASELINE_SQL, [quizId]);
  const row = rows[0] as {
    count: number;
    mean: number | null;
    median: number | null;
    sd: number | null;
    k: number;
    item_variances: number | null;
    total_variance: number | null;
    items: Array<{ question_id: string; facility: number; discrimination: number | null }> | null;
    answers: Array<{ question_id: string; key: string; n: number }> | null;
  };
  const answers = new Map<string, Array<[string, number]>>();
  for (const a of row.answers ?? []) answers.set(a.question_id, [...(answers.get(a.question_id) ?? []), [a.key, a.n]]);
  const alpha = row.k > 1 && row.total_variance ? (row.k / (row.k - 1)) * (1 - row.item_variances! / row.total_variance) : null;
  return {
    count: row.count,
    mean: r4(row.mean),
    median: r4(row.median),
    standardDeviation: r4(row.sd),
    reliability: r4(alpha),
    items: (row.items ?? [])
      .map((item) => ({
        questionId: item.question_id,
        facility: r4(item.facility),
        discrimination: r4(item.discrimination),
        answers: (answers.get(item.question_id) ?? []).sort(([a], [b]) => a.localeCompare(b)),
      }))
      .sort((a, b) => a.questionId.localeCompare(b.questionId)),
  };
}

interface StatsReply {
  percentages: { count: number; mean: number | null; median: number | null; standardDeviation: number | null };
  reliability: { value: number | null };
  questions: Array<{ questionId: string; facility: number | null; discrimination: number | null; answerCounts: Array<{ answer: string; count: number }> }>;
}

function oursFigures(reply: StatsReply): Figures {
  return {
    ...reply.percentages,
    reliability: reply.reliability.value,
    items: reply.questions
      .map((q) => ({
        questionId: q.questionId,
        facility: q.facility,
        discrimination: q.discrimination,
        // The baseline has no rows for options nobody chose.
        answers: q.answerCounts
          .filter((a) => a.count > 0)
          .map((a): [string, number] => [a.answer, a.count])
          .sort(([a], [b]) => a.localeCompare(b)),
      }))
      .sort((a, b) => a.questionId.localeCompare(b.questionId)),
  };
}

/**
 * Where two figure trees differ (null when they agree): numbers within 1.5e-4, since the two
 * sides round independently computed floats to 4 decimals.
 */
function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1.5e-4 ? null : `${path}: ${a} ≠ ${b}`;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: length ${a.length} ≠ ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const difference = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (difference) return difference;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const difference = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
      if (difference) return difference;
    }
    return null;
  }
  return a === b ? null : `${path}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`;
}

async function getStats(url: string, headers: Record<string, string>): Promise<StatsReply> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as StatsReply;
}

/** `requests` sequential runs of `once`, after one unmeasured; their p50 in ms. */
async function p50(requests: number, once: () => Promise<unknown>): Promise<number> {
  await once();
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    const start = process.hrtime.bigint();
    await once();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return quantile(times, 0.5);
}

async function runStats(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const seed = await seedStats(bench.config.databaseUrl, {
    students: sizes.statsStudents,
    attemptsEach: sizes.statsAttemptsEach,
    questions: sizes.statsQuestions,
  });
  const app = startChild('servers/http-app.ts', 0, { ...bench.env, BENCH_INSTRUCTOR_ID: seed.instructorId });
  const pool = new pg.Pool({ connectionString: bench.config.databaseUrl, max: 2 });
  try {
    const info = await app.next<{ port: number; token: string }>('ready');
    const url = `http://127.0.0.1:${info.port}/api/quizzes/${seed.quizId}/stats`;
    const headers = { authorization: `Bearer ${info.token}` };
    const ours = oursFigures(await getStats(url, headers));
    const baseline = await baselineFigures(pool, seed.quizId);
    if (ours.count !== seed.attempts) throw new Error(`stats counted ${ours.count} of ${seed.attempts} attempts`);
    const difference = firstDifference(ours, baseline, '');
    if (difference) throw new Error(`the route and the raw SQL disagree at ${difference}`);
    const pairs = await alternate(
      sizes.pairs,
      () => p50(sizes.statsRequests, () => getStats(url, headers)),
      () => p50(sizes.statsRequests, () => baselineFigures(pool, seed.quizId)),
    );
    return [
      ratioRow(pairs, {
        scenario: '10 item statistics',
        metric: `GET /api/quizzes/:id/stats p50 (${seed.attempts} attempts × ${sizes.statsQuestions} questions)`,
        pick: (ms) => ms,
        better: 'lower',
        unit: 'ms',
        absoluteGoal: 500,
        note: 'baseline: the same figures in one raw SQL statement with PostgreSQL aggregates, over pg, no HTTP',
      }),
    ];
  } finally {
    await Promise.all([app.stop(), pool.end()]);
  }
}
