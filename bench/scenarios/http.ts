/**
 * Scenario 5: `GET /api/courses/:slug` and `GET /api/quizzes/:id` through `buildApp` against a
 * bare Fastify + raw `pg` serving the same JSON (checked before measuring).
 */
import { deepStrictEqual } from 'node:assert';
import type { BenchEnv } from '../lib/env.js';
import { startChild } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, type Scenario } from '../lib/scenario.js';
import { seedHttp } from '../lib/seed.js';

interface Sizes {
  pairs: number;
  httpConnections: number;
  httpDurationMs: number;
  httpWarmupMs: number;
  httpMaxRequests: number;
}

export const httpScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { httpConnections: 20, httpDurationMs: 5000, httpWarmupMs: 1000, httpMaxRequests: 1_000_000 },
  smoke: { httpConnections: 4, httpDurationMs: 300, httpWarmupMs: 0, httpMaxRequests: 2000 },
  run: runHttp,
};

interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

async function fetchJson(url: string, headers: Record<string, string>): Promise<unknown> {
  const response = await fetch(url, { headers });
  if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

async function runHttp(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const seed = await seedHttp(bench.config.databaseUrl);
  const env = { ...bench.env, BENCH_INSTRUCTOR_ID: seed.instructorId };
  const app = startChild('servers/http-app.ts', 0, env);
  const bare = startChild('servers/http-bare.ts', 0, env);
  const load = startChild('clients/http-load.ts', 1);
  try {
    const [appInfo, bareInfo] = await Promise.all([
      app.next<{ port: number; token: string }>('ready'),
      bare.next<{ port: number }>('ready'),
      load.next('ready'),
    ]);
    const headers = { authorization: `Bearer ${appInfo.token}` };
    const endpoints = [
      { metric: 'GET /api/courses/:slug req/s', path: `/api/courses/${seed.courseSlug}`, headers: {} },
      { metric: 'GET /api/quizzes/:id req/s', path: `/api/quizzes/${seed.quizId}`, headers },
    ];
    for (const endpoint of endpoints) {
      // Same JSON or the comparison means nothing (key order aside).
      deepStrictEqual(
        await fetchJson(`http://127.0.0.1:${bareInfo.port}${endpoint.path}`, endpoint.headers),
        await fetchJson(`http://127.0.0.1:${appInfo.port}${endpoint.path}`, endpoint.headers),
        `baseline JSON differs for ${endpoint.path}`,
      );
    }
    const rows: Row[] = [];
    for (const endpoint of endpoints) {
      const measure = async (port: number) => {
        load.send({
          type: 'run',
          url: `http://127.0.0.1:${port}${endpoint.path}`,
          headers: endpoint.headers,
          connections: sizes.httpConnections,
          durationMs: sizes.httpDurationMs,
          warmupMs: sizes.httpWarmupMs,
          maxRequests: sizes.httpMaxRequests,
        });
        const result = await load.next<LoadResult>('result', sizes.httpDurationMs + sizes.httpWarmupMs + 30_000);
        if (result.errors) throw new Error(`${endpoint.path} on port ${port}: ${result.errors} errors`);
        return result;
      };
      const pairs = await alternate(
        sizes.pairs,
        () => measure(appInfo.port),
        () => measure(bareInfo.port),
      );
      rows.push(ratioRow(pairs, { scenario: '5 HTTP', metric: endpoint.metric, pick: (r) => r.rps, better: 'higher', unit: 'req/s', goal: 0.5 }));
      rows.push(ratioRow(pairs, { scenario: '5 HTTP', metric: endpoint.metric.replace('req/s', 'p99'), pick: (r) => r.p99Ms, better: 'lower', unit: 'ms' }));
    }
    return rows;
  } finally {
    await Promise.all([app.stop(), bare.stop(), load.stop()]);
  }
}
