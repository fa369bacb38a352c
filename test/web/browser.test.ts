// The web app in a real browser: Debian's chromium driven by playwright-core, headless, one
// browser for the whole file (tap runs the suite's files in parallel; this is the only file that
// starts a browser). Every wait is bounded.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from '../helpers/tap.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildTestApp } from '../helpers/app.js';
import { createUser, TEST_PASSWORD, type TestUser } from '../helpers/users.js';
import { courseWithLessons, publishedQuiz } from '../realtime/fixtures.js';
import { listen, signJwt } from '../realtime/socket-helpers.js';
import { QUEUES_COOKIE } from '../../server/plugins/admin-queues.js';
import { waitFor } from '../helpers/wait.js';
import { ensureWebBuilt } from './build.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = { timeout: 5000 };
/**
 * Screenshots of this run go to tap's fixture folder for the file; with SCREENSHOTS=docs also to
 * docs/screenshots (the README's), so an ordinary run leaves the working tree clean.
 */
const shots = t.testdirName;
const docsShots = process.env.SCREENSHOTS === 'docs' ? join(import.meta.dirname, '../../docs/screenshots') : null;

await ensureWebBuilt();
const { app, config } = await buildTestApp(t, 'web-browser', {
  WORKERS: 'on',
  // Short tokens: the app must renew them (HTTP and `auth:refresh` on the socket) while the test runs.
  ACCESS_TOKEN_TTL_SECONDS: '8',
  SOCKET_TOKEN_GRACE_MS: '1000',
});
const base = await listen(app);
const instructor = await createUser(app, 'instructor', { fullName: 'Ivy Instructor' });
const alice = await createUser(app, 'student', { fullName: 'Alice Student' });
const bob = await createUser(app, 'student', { fullName: 'Bob Student' });
const admin = await createUser(app, 'admin', { fullName: 'Ada Admin' });
const { course, lessons } = await courseWithLessons(app, instructor, [alice, bob]);
const quiz = await publishedQuiz(app, instructor, course.id);

const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
t.teardown(() => browser.close());
t.comment(`screenshots: ${shots}`);
await mkdir(shots, { recursive: true });
if (docsShots) await mkdir(docsShots, { recursive: true });

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(shots, `${name}.png`) });
  if (docsShots) await page.screenshot({ path: join(docsShots, `${name}.png`) });
}

interface Session {
  context: BrowserContext;
  page: Page;
  /** WebSocket connections the page opened, and token renewals it made. */
  seen: { sockets: number; renewals: number; signedInAt: number };
}

async function signIn(user: TestUser, hash = '', viewport = { width: 1100, height: 800 }): Promise<Session> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const seen = { sockets: 0, renewals: 0, signedInAt: 0 };
  page.on('websocket', () => seen.sockets++);
  page.on('response', (response) => {
    if (response.url().endsWith('/api/auth/refresh') && response.ok()) seen.renewals++;
  });
  page.on('pageerror', (error) => t.fail(`page error for ${user.email}: ${error.message}`));
  await page.goto(`${base}/${hash ? `app/${hash}` : ''}`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('who').waitFor(WAIT);
  seen.signedInAt = Date.now();
  return { context, page, seen };
}

const connectionOf = (page: Page) => page.getByTestId('connection');

// Signed in before the first subtest: tap ends the file once no subtest is pending.
// In parallel: each sign-in waits mostly for the page and an argon2 check.
const [teacher, student, adminSession, bobSession] = await Promise.all([
  signIn(instructor, `#/teach/${course.id}`),
  signIn(alice, `#/learn/${course.id}`, { width: 360, height: 740 }),
  signIn(admin),
  signIn(bob),
]);
const roster = teacher.page.getByTestId('roster');
const aliceRow = roster.locator(`tr[data-student="${alice.id}"]`);

await t.test('a wrong password shows a clear message', async (t) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/`);
  t.equal(new URL(page.url()).pathname, '/app/', 'GET / lands on the app');
  await page.getByLabel('Email').fill(alice.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'Wrong email or password.' }).waitFor(WAIT);
  await screenshot(page, 'login-failed');
  await context.close();
});

await t.test('the instructor sees the roster with who is online; a completed lesson shows within a second', async (t) => {
  await aliceRow.waitFor(WAIT);
  await aliceRow.locator('.presence.on').waitFor(WAIT);
  // The join's count (students only get the count; the instructor's page also gets the list).
  await teacher.page.getByTestId('room-count').filter({ hasText: '2 in the room' }).waitFor(WAIT);
  t.match(await roster.innerText(), /Bob Student/);
  await connectionOf(teacher.page).filter({ hasText: 'Live' }).waitFor(WAIT);

  await student.page.getByRole('link', { name: lessons[0]!.title }).click();
  const saved = student.page.waitForResponse((response) => response.url().endsWith(`/api/lessons/${lessons[0]!.id}/progress`) && response.ok());
  await student.page.getByRole('button', { name: 'Mark as completed' }).click();
  await saved;
  const savedAt = Date.now();
  // Three lessons (two text lessons and the quiz's): one completed is 33.33 %.
  await aliceRow.getByRole('progressbar', { name: "Alice Student's progress" }).and(teacher.page.locator('[aria-valuenow="33"]')).waitFor(WAIT);
  const elapsed = Date.now() - savedAt;
  t.ok(elapsed < 1000, `the roster showed the new percentage ${elapsed} ms after the write`);
  t.match(await aliceRow.innerText(), new RegExp(lessons[0]!.title), 'the last lesson column names it');
  await student.page.getByTestId('completed').waitFor(WAIT);
  await screenshot(student.page, 'student-lesson');
});

await t.test('a self-paced quiz: autosave marks, the instant grade, the instructor sees the grade and the distribution', async (t) => {
  await student.page.goto(`${base}/app/#/learn/${course.id}/lessons/${quiz.lesson.id}`);
  await student.page.getByRole('button', { name: 'Start the quiz' }).click();
  await student.page.getByTestId('quiz').waitFor(WAIT);
  await student.page.getByLabel('True', { exact: true }).check();
  await student.page.getByTestId(`save-${quiz.tf.id}`).filter({ hasText: 'saved' }).waitFor(WAIT);
  await student.page.getByLabel('WHERE').check();
  await student.page.getByTestId(`save-${quiz.mc.id}`).filter({ hasText: 'saved' }).waitFor(WAIT);
  await teacher.page.getByTestId('distribution').filter({ hasText: 'WHERE: 1 of 1' }).waitFor(WAIT);
  await student.page.getByRole('button', { name: 'Submit answers' }).click();
  await student.page.getByTestId('grade').filter({ hasText: '2/2' }).waitFor(WAIT);
  await teacher.page.getByTestId('grades').filter({ hasText: 'Alice Student' }).waitFor(WAIT);
  t.match(await teacher.page.getByTestId('grades').innerText(), /2\/2 \(100 %\) passed/);
  await screenshot(student.page, 'student-quiz-graded');
  await screenshot(teacher.page, 'instructor-dashboard');
});

await t.test('the student goes offline and comes back: the page resyncs what it missed', async (t) => {
  await student.page.goto(`${base}/app/#/learn/${course.id}`);
  await connectionOf(student.page).filter({ hasText: 'Live' }).waitFor(WAIT);
  await student.context.setOffline(true);
  await connectionOf(student.page).filter({ hasText: 'Offline' }).waitFor(WAIT);
  // While the student is away the instructor starts a live session and points at a lesson.
  await teacher.page.getByRole('button', { name: 'Start live session' }).click();
  await teacher.page.getByTestId('session-state').waitFor(WAIT);
  await teacher.page.getByLabel('Lesson everyone follows').selectOption(lessons[1]!.id);
  await teacher.page.waitForResponse((response) => response.url().includes('/live-sessions/current') && response.ok(), WAIT);
  t.equal(await student.page.getByTestId('live-banner').count(), 0, 'nothing reached the offline page');
  await student.context.setOffline(false);
  await connectionOf(student.page).filter({ hasText: 'Live' }).waitFor(WAIT);
  await student.page.getByTestId('live-banner').filter({ hasText: lessons[1]!.title }).waitFor(WAIT);
  await screenshot(student.page, 'student-live');
  t.pass('resynced after the network came back');
});

/** The student's countdown in seconds. */
async function countdownSeconds(page: Page): Promise<number> {
  const text = await page.getByTestId('quiz').getByTestId('countdown').innerText();
  const match = /(\d+):(\d\d)/.exec(text);
  if (!match) throw new Error(`no countdown in "${text}"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

async function countdownAbove(page: Page, seconds: number): Promise<number> {
  const until = Date.now() + 5000;
  for (;;) {
    const now = await countdownSeconds(page);
    if (now > seconds || Date.now() > until) return now;
    await page.waitForTimeout(100);
  }
}

await t.test('a launched quiz: countdown, extend for all and for one, answers, grade and distribution on the dashboard', async (t) => {
  await teacher.page.getByLabel('Minutes').fill('1');
  await teacher.page.getByRole('button', { name: 'Launch quiz' }).click();
  await teacher.page.getByTestId('launch').waitFor(WAIT);
  await student.page.getByTestId('quiz').getByTestId('countdown').waitFor(WAIT);
  const first = await countdownSeconds(student.page);
  t.ok(first > 50 && first <= 60, `the student's clock starts near a minute (${first} s)`);

  await teacher.page.getByRole('button', { name: '+1 minute for everyone' }).click();
  const extended = await countdownAbove(student.page, first + 50);
  t.ok(extended > first + 50, `extend for everyone moved the student's clock (${first} → ${extended} s)`);
  await teacher.page.getByRole('button', { name: 'Give Alice Student 30 more seconds' }).click();
  const personal = await countdownAbove(student.page, extended + 20);
  t.ok(personal > extended + 20, `extend for Alice moved her clock (${extended} → ${personal} s)`);
  await screenshot(student.page, 'student-launched-quiz');

  await student.page.getByTestId('quiz').getByLabel('True', { exact: true }).check();
  await student.page.getByTestId(`save-${quiz.tf.id}`).filter({ hasText: 'saved' }).waitFor(WAIT);
  await student.page.getByTestId('quiz').getByLabel('ORDER BY').check();
  await student.page.getByTestId(`save-${quiz.mc.id}`).filter({ hasText: 'saved' }).waitFor(WAIT);
  await teacher.page.getByTestId('launch').getByTestId('distribution').filter({ hasText: 'ORDER BY: 1 of 1' }).waitFor(WAIT);
  await screenshot(teacher.page, 'instructor-launch');
  await student.page.getByRole('button', { name: 'Submit answers' }).click();
  await student.page.getByTestId('grade').filter({ hasText: '1/2' }).waitFor(WAIT);
  await teacher.page.getByTestId('grades').filter({ hasText: '1/2 (50 %)' }).waitFor(WAIT);
  // Every attempt is finished; closing the window settles the launch and its summary arrives.
  await teacher.page.getByRole('button', { name: 'Close quiz now' }).click();
  await teacher.page.getByTestId('launch-summary').filter({ hasText: '1 graded of 1' }).waitFor(WAIT);
  await screenshot(teacher.page, 'instructor-launch-summary');
});

await t.test('regrade after a key correction: the dry-run preview, then the run', async (t) => {
  const corrected = await app.inject({
    method: 'PATCH',
    url: `/api/questions/${quiz.mc.id}`,
    headers: { authorization: `Bearer ${app.signAccessToken({ id: instructor.id, role: 'instructor' })}` },
    payload: {
      options: [
        { id: 'where', text: 'WHERE', isCorrect: false },
        { id: 'order', text: 'ORDER BY', isCorrect: true },
      ],
    },
  });
  t.equal(corrected.statusCode, 200, corrected.body);
  await teacher.page.getByRole('button', { name: 'Preview regrade' }).click();
  // The self-paced attempt (WHERE) drops to 1/2, the launched one (ORDER BY) rises to 2/2.
  await teacher.page.getByTestId('regrade-preview').filter({ hasText: '2 of 2 graded attempts would change' }).waitFor(WAIT);
  await screenshot(teacher.page, 'instructor-regrade-preview');
  await teacher.page.getByRole('button', { name: 'Apply regrade' }).click();
  await teacher.page.getByText('Regrade done: 2 of 2 results changed').waitFor({ timeout: 10_000 });
});

/**
 * In the page (a string: the test is compiled without the DOM library): the interactive elements
 * and images without a name a screen reader could read, and how far the document is wider than the
 * window (a page that scrolls sideways at 360 px is not usable on a phone).
 */
const AUDIT = `(() => {
  const nameOf = (el) => {
    const labelledBy = el.getAttribute('aria-labelledby');
    if (labelledBy) return labelledBy.split(/\\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join(' ').trim();
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
    if (el.tagName === 'IMG') return (el.getAttribute('alt') ?? '').trim();
    if (el.labels && el.labels.length) return [...el.labels].map((label) => label.textContent).join(' ').trim();
    if (el.getAttribute('title')) return el.getAttribute('title').trim();
    if (el.tagName === 'BUTTON' || el.tagName === 'A' || el.tagName === 'SUMMARY') return el.textContent.trim();
    return '';
  };
  const unnamed = [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea, summary, img, [role=button], [role=progressbar]')]
    .filter((el) => el.getClientRects().length > 0 && !nameOf(el))
    .map((el) => el.outerHTML.slice(0, 120));
  return { unnamed, overflow: document.documentElement.scrollWidth - window.innerWidth };
})()`;

await t.test('every control and image has a name a screen reader reads; nothing scrolls sideways at 360 px', async (t) => {
  const narrow = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const teacherNarrow = await narrow.newPage();
  await teacherNarrow.goto(`${base}/app/#/teach/${course.id}`);
  await teacherNarrow.getByLabel('Email').fill(instructor.email);
  await teacherNarrow.getByLabel('Password').fill(TEST_PASSWORD);
  await teacherNarrow.getByRole('button', { name: 'Sign in' }).click();
  await teacherNarrow.getByTestId('roster').locator(`tr[data-student="${alice.id}"]`).waitFor(WAIT);
  for (const [name, page] of [
    ["the instructor's dashboard", teacher.page],
    ["the instructor's dashboard at 360 px", teacherNarrow],
    ["the student's course at 360 px", student.page],
    ['the admin page', adminSession.page],
  ] as const) {
    const audit = await page.evaluate<{ unnamed: string[]; overflow: number }>(AUDIT);
    t.same(audit.unnamed, [], `${name}: every control has an accessible name`);
    t.ok(audit.overflow <= 0, `${name}: no sideways scrolling (${audit.overflow} px wider than the window)`);
  }
  await screenshot(teacherNarrow, 'dashboard-360');
  await narrow.close();
});

await t.test('a student opening the instructor page is told it is not theirs', async (t) => {
  const page = await student.context.newPage();
  await page.goto(`${base}/app/#/teach/${course.id}`);
  await page.getByRole('alert').filter({ hasText: 'for the instructors of this course' }).waitFor(WAIT);
  await page.close();
  t.pass();
});

await t.test('a reload or a second tab stays signed in; an expired session says so', async () => {
  const second = await student.context.newPage();
  await second.goto(`${base}/app/#/learn/${course.id}`);
  await second.getByTestId('who').filter({ hasText: 'Alice Student' }).waitFor(WAIT);
  await second.reload();
  await second.getByTestId('who').filter({ hasText: 'Alice Student' }).waitFor(WAIT);

  // The session ends server-side (refresh tokens revoked) and the access token is refused as expired.
  await app.orm.em.fork().getConnection().execute('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL', [alice.id]);
  const expired = signJwt({ sub: alice.id, role: 'student', typ: 'access', iat: 1, exp: 2 }, config.jwtSecret);
  await second.route('**/api/**', (route) =>
    route.continue({ headers: { ...route.request().headers(), ...(route.request().headers().authorization ? { authorization: `Bearer ${expired}` } : {}) } }),
  );
  // In-app navigation (no reload): the next API call meets the refused token.
  await second.evaluate(
    (hash) => ((globalThis as unknown as { location: { hash: string } }).location.hash = hash),
    `#/learn/${course.id}/lessons/${lessons[1]!.id}`,
  );
  await second
    .getByText('Your session has expired. Please sign in again.')
    .waitFor(WAIT)
    .catch(async (error: unknown) => {
      await second.screenshot({ path: join(shots, 'debug-expired.png') });
      throw error;
    });
  await second.getByLabel('Email').waitFor(WAIT);
  await screenshot(second, 'session-expired');
  await second.close();
});

await t.test('Bull Board: an admin reaches /admin/queues; a student, a visitor and a forged cookie do not', async (t) => {
  const { context, page } = adminSession;
  await page.getByRole('button', { name: 'Open the queue dashboard' }).click();
  await page.waitForURL(`${base}/admin/queues/**`, WAIT);
  await page.getByText('quiz-deadlines').first().waitFor(WAIT);
  await screenshot(page, 'admin-queues');
  t.notOk((await context.cookies()).find((cookie) => cookie.name === QUEUES_COOKIE)?.value.length === 0);
  t.notMatch(page.url(), /token|jwt/i, 'no token in the URL');
  await context.close();

  const refused = await bobSession.page.goto(`${base}/admin/queues/`);
  t.equal(refused?.status(), 401, 'a student has no queues cookie');
  await bobSession.page.getByRole('alert').waitFor(WAIT);
  await bobSession.context.close();

  const visitor = await browser.newContext();
  const anonymous = await visitor.newPage();
  t.equal((await anonymous.goto(`${base}/admin/queues/`))?.status(), 401);
  await visitor.addCookies([
    {
      name: QUEUES_COOKIE,
      value: signJwt({ sub: admin.id, role: 'admin', typ: 'queues', exp: 4102444800 }, 'forged-secret-forged-secret-forged'),
      url: `${base}/admin/queues`,
    },
  ]);
  t.equal((await anonymous.goto(`${base}/admin/queues/`))?.status(), 401, 'a forged cookie is refused');
  await visitor.close();
});

await t.test('the socket stayed connected through token renewals (auth:refresh)', async (t) => {
  // Tokens live 8 s and sockets get 1 s of grace: without auth:refresh the server would have cut it.
  // On a quick run the file gets here sooner: the page then stays open past both, and a renewal.
  await waitFor(
    'a token renewal, and a token and its grace gone by',
    () => teacher.seen.renewals >= 1 && Date.now() - teacher.seen.signedInAt > 9_500,
    20_000,
    100,
  );
  t.equal(await connectionOf(teacher.page).innerText(), 'Live');
  const signedInFor = Date.now() - teacher.seen.signedInAt;
  t.ok(signedInFor > 9_000, `signed in for ${signedInFor} ms, longer than a token and its grace`);
  t.ok(teacher.seen.renewals >= 1, `the page renewed its token (${teacher.seen.renewals} times)`);
  t.equal(teacher.seen.sockets, 1, 'on one WebSocket connection from start to end');
  await teacher.context.close();
  await student.context.close();
});
