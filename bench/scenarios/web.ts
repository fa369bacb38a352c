/**
 * The web app's budgets (issue 19), measured in Debian's chromium driven by playwright-core, headless,
 * against the real app (`servers/class-app.ts`, which serves `web/dist`: run `npm run build:web`
 * first) on core 0; the students' load client on core 1. There is no baseline: each figure is
 * judged on its own budget.
 *
 * - JavaScript of a first load: every script the browser fetched from the first visit until the
 *   sign-in form showed, gzipped here (zlib's default level), summed. Budget 150 KB.
 * - Time to a usable roster for a course of `students`: a fresh browser context opens the
 *   instructor's dashboard URL (`/app/#/teach/<course>`) until the sign-in form shows, plus the
 *   click on "Sign in" until the roster holds a row for every student with each one's presence
 *   shown; the time the user spends typing is not counted (the fields are filled in between).
 *   Budget 1 s, judged on the median of `loads` cold loads.
 * - Long tasks while the class writes: every student's socket is joined to the course; they send
 *   `lesson:progress` at `writeRate` writes per second for `writeDurationMs` (each write changes a
 *   student's row: the instructor hears `progress:updated` and `lesson:progress`), and the page's
 *   main-thread long tasks (> 50 ms, the browser's `longtask` entries) are summed over that window.
 *   Budget under 5 % of the time. The WebSocket frames the page received during the window are
 *   counted, so a run in which the events never reached the page cannot pass for a quiet one.
 */
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import type { BenchEnv } from '../lib/env.js';
import { median, startChild } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { valueRow, type Scenario } from '../lib/scenario.js';
import { seedClass } from '../lib/seed-class.js';
import { hashPassword } from '../../server/modules/auth/passwords.js';

interface Sizes {
  pairs: number;
  students: number;
  lessons: number;
  loads: number;
  writeRate: number;
  writeDurationMs: number;
}

export const webScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { students: 200, lessons: 20, loads: 5, writeRate: 20, writeDurationMs: 15_000 },
  smoke: { students: 10, lessons: 4, loads: 1, writeRate: 20, writeDurationMs: 1000 },
  run: runWeb,
};

const SCENARIO = 'web dashboard budgets';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'bench-password-1';
const WAIT_MS = 30_000;

/** In the page before any script: every long task, as [startTime, duration] on the page's clock. */
/** Runs in the page (the bench is compiled without the DOM library). */
declare const document: { querySelectorAll(selector: string): { length: number } };

const OBSERVE_LONG_TASKS = `
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push([entry.startTime, entry.duration]);
  }).observe({ type: 'longtask', buffered: true });
`;

async function runWeb(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new Error('the web scenario needs playwright-core (a devDependency): run npm ci');
  }
  const index = await readFile(new URL('../../web/dist/index.html', import.meta.url), 'utf8').catch(() => null);
  if (index === null) throw new Error('web/dist is missing: run `npm run build:web` first');

  const seed = await seedClass(bench.config.databaseUrl, { students: sizes.students, lessons: sizes.lessons });
  const email = `bench-teacher-${seed.instructorId.slice(0, 8)}@example.com`;
  const db = new pg.Client({ connectionString: bench.config.databaseUrl });
  await db.connect();
  await db.query('UPDATE users SET email = $1, password_hash = $2 WHERE id = $3', [email, await hashPassword(PASSWORD), seed.instructorId]);
  await db.end();

  const server = startChild('servers/class-app.ts', 0, bench.env);
  const students = startChild('clients/io-paced.ts', 1);
  const browser = await playwright.chromium
    .launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] })
    .catch((error: Error) => {
      throw new Error(`cannot start ${CHROMIUM} (apt-get install -y chromium): ${error.message}`);
    });
  try {
    const { port } = await server.next<{ port: number }>('ready');
    const base = `http://127.0.0.1:${port}`;
    server.send({ type: 'sign', users: seed.students.map((s) => ({ id: s.id, role: 'student' })) });
    const { tokens } = await server.next<{ tokens: string[] }>('tokens');
    students.send({
      type: 'connect',
      url: base,
      sockets: seed.students.map((s, i) => ({ key: s.id, auth: { token: tokens[i] }, join: seed.courseId })),
    });
    await students.next('connected', 120_000);

    const scriptBytes: number[] = [];
    const usableMs: number[] = [];
    const formMsList: number[] = [];
    let lastPage: import('playwright-core').Page | null = null;
    /** WebSocket frames the last page received. */
    let lastFrames = { count: 0 };
    for (let load = 0; load < sizes.loads; load++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript(OBSERVE_LONG_TASKS);
      const page = await context.newPage();
      const frames = { count: 0 };
      page.on('websocket', (socket) => socket.on('framereceived', () => frames.count++));
      const scripts: Array<Promise<Buffer>> = [];
      page.on('response', (response) => {
        if (response.request().resourceType() === 'script') scripts.push(response.body());
      });
      const openedAt = performance.now();
      await page.goto(`${base}/app/#/teach/${seed.courseId}`);
      await page.getByLabel('Email').waitFor({ timeout: WAIT_MS });
      const formMs = performance.now() - openedAt;
      scriptBytes.push((await Promise.all(scripts)).reduce((sum, body) => sum + gzipSync(body).length, 0));
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      const clickedAt = performance.now();
      await page.getByRole('button', { name: 'Sign in' }).click();
      // A function, not a string: the app's Content-Security-Policy forbids eval in the page.
      await page.waitForFunction((count) => document.querySelectorAll('[data-testid="roster"] tr[data-student] .presence.on').length >= count, sizes.students, {
        timeout: WAIT_MS,
        polling: 'raf',
      });
      usableMs.push(formMs + (performance.now() - clickedAt));
      formMsList.push(formMs);
      if (lastPage) await lastPage.context().close();
      lastPage = page;
      lastFrames = frames;
    }

    // The class writes while the last dashboard is open.
    const page = lastPage!;
    const count = Math.round((sizes.writeRate * sizes.writeDurationMs) / 1000);
    const items = Array.from({ length: count }, (_, j) => {
      const s = j % seed.students.length;
      const k = Math.floor(j / seed.students.length);
      return {
        socket: seed.students[s]!.id,
        event: 'lesson:progress',
        // Completed, so each write moves the student's percentage (never to 100 %: far fewer writes than lessons).
        data: { lessonId: seed.lessonIds[(s + k) % seed.lessonIds.length], status: 'completed', completionPercentage: 100, timeSpentSecondsDelta: 5 },
        key: `${seed.students[s]!.id}#${k}`,
        atMs: (j * 1000) / sizes.writeRate,
      };
    });
    const windowStart = await page.evaluate(() => performance.now());
    const framesAtStart = lastFrames.count;
    students.send({ type: 'send', startAt: (process.hrtime.bigint() + 50_000_000n).toString(), items, timeoutMs: 10_000 });
    const sent = await students.next<{ failures: string[] }>('sent', sizes.writeDurationMs + 30_000);
    const windowEnd = await page.evaluate(() => performance.now());
    const longTasks = await page.evaluate<Array<[number, number]>>('window.__longTasks');
    const busyMs = longTasks.reduce((sum, [start, duration]) => {
      const overlap = Math.min(start + duration, windowEnd) - Math.max(start, windowStart);
      return sum + Math.max(0, overlap);
    }, 0);
    const longFraction = (100 * busyMs) / (windowEnd - windowStart);
    const progressShown = await page.evaluate<number>(
      `[...document.querySelectorAll('[data-testid="roster"] [role="progressbar"]')].filter((bar) => bar.getAttribute('aria-valuenow') !== '0').length`,
    );
    const frames = lastFrames.count - framesAtStart;

    const of = `(${sizes.students} students)`;
    return [
      {
        ...valueRow({
          scenario: SCENARIO,
          metric: 'JavaScript of a first load, gzipped',
          values: scriptBytes.map((b) => b / 1024),
          better: 'lower',
          unit: 'KiB',
        }),
        absoluteGoal: 150,
      },
      {
        ...valueRow({ scenario: SCENARIO, metric: `open → sign-in form, then Sign in → usable roster ${of}`, values: usableMs, better: 'lower', unit: 'ms' }),
        absoluteGoal: 1000,
        note: `median of ${sizes.loads} cold loads in fresh browser contexts, typing not counted; of which open → sign-in form ${median(formMsList).toFixed(0)} ms`,
      },
      {
        ...valueRow({
          scenario: SCENARIO,
          metric: `main-thread long tasks while ${sizes.writeRate} writes/s for ${sizes.writeDurationMs / 1000} s ${of}`,
          values: [longFraction],
          better: 'lower',
          unit: '% of time',
        }),
        absoluteGoal: 5,
        note:
          `${longTasks.length} long tasks in all, ${busyMs.toFixed(0)} ms of them in the window; the page received ${frames} WebSocket frames ` +
          `in the window, and ${progressShown} rows show progress` +
          (sent.failures.length ? `; refused writes, e.g. ${sent.failures.slice(0, 3).join('; ')}` : ''),
      },
    ];
  } finally {
    await browser.close();
    await Promise.all([students.stop(), server.stop()]);
  }
}
