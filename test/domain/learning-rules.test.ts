import t from '../helpers/tap.js';
import { maxOfOptional, minOfOptional, percentageHalfUp, roundHalfUp2 } from '../../server/domain/numbers.js';
import { isUuidLike, nextFreeSlug, slugify } from '../../server/domain/slug.js';
import { calculateEnrollmentProgress, normalizeProgressWrite } from '../../server/domain/progress.js';
import { buildTree, findCycle } from '../../server/domain/lesson-tree.js';

t.test('percentages round half-up to 2 decimals', async (t) => {
  t.equal(percentageHalfUp(1, 3), 33.33);
  t.equal(percentageHalfUp(2, 3), 66.67);
  t.equal(percentageHalfUp(1, 8), 12.5);
  t.equal(percentageHalfUp(1, 16), 6.25);
  t.equal(percentageHalfUp(1, 1600), 0.06, '0.0625 rounds up');
  t.equal(percentageHalfUp(5, 5), 100);
  t.equal(percentageHalfUp(0, 0), 0, 'no lessons → 0');
  t.equal(roundHalfUp2(1.005), 1.01, 'the classic float trap');
  t.equal(roundHalfUp2(2.675), 2.68);
  t.equal(roundHalfUp2(33.334), 33.33);
});

t.test('slugs', async (t) => {
  t.equal(slugify('Intro to SQL!'), 'intro-to-sql');
  t.equal(slugify('  Crème brûlée 101 '), 'creme-brulee-101');
  t.equal(slugify('!!!'), 'untitled');
  t.equal(nextFreeSlug('intro', []), 'intro');
  t.equal(nextFreeSlug('intro', ['intro']), 'intro-2');
  t.equal(nextFreeSlug('intro', ['intro', 'intro-2', 'intro-3', 'intro-x']), 'intro-4');
  t.ok(isUuidLike('0b6f8a4e-1c4e-4a57-9d1e-2f1b8f0c9a11'));
  t.notOk(isUuidLike('intro-to-sql'));
});

t.test('progress writes are normalised', async (t) => {
  t.same(normalizeProgressWrite({ status: 'completed' }), { status: 'completed', completionPercentage: 100, timeSpentSecondsDelta: 0 });
  t.same(normalizeProgressWrite({ completionPercentage: 100 }), { status: 'completed', completionPercentage: 100, timeSpentSecondsDelta: 0 });
  t.same(normalizeProgressWrite({ completionPercentage: 12.345 }), { status: 'in_progress', completionPercentage: 12.35, timeSpentSecondsDelta: 0 });
  t.same(normalizeProgressWrite({ timeSpentSecondsDelta: 30 }), { status: 'in_progress', completionPercentage: 0, timeSpentSecondsDelta: 30 });
  t.same(normalizeProgressWrite({ status: 'not_started' }), { status: 'not_started', completionPercentage: 0, timeSpentSecondsDelta: 0 });
});

t.test('enrollment progress follows calculate_progress', async (t) => {
  const now = new Date('2026-11-25T12:00:00Z');
  const active = { status: 'active' as const, completedAt: null };
  t.match(calculateEnrollmentProgress(active, { totalLessons: 3, completedLessons: 1, totalTimeSpentSeconds: 10 }, now), {
    progressPercentage: 33.33,
    status: 'active',
    completedAt: null,
    justCompleted: false,
  });
  const done = calculateEnrollmentProgress(active, { totalLessons: 3, completedLessons: 3, totalTimeSpentSeconds: 10 }, now);
  t.match(done, { progressPercentage: 100, status: 'completed', completedAt: now, justCompleted: true });
  const again = calculateEnrollmentProgress(
    { status: 'completed', completedAt: now },
    { totalLessons: 3, completedLessons: 3, totalTimeSpentSeconds: 10 },
    new Date(),
  );
  t.match(again, { status: 'completed', completedAt: now, justCompleted: false }, 'completes once');
  const dropped = calculateEnrollmentProgress(
    { status: 'dropped', completedAt: null },
    { totalLessons: 2, completedLessons: 2, totalTimeSpentSeconds: 0 },
    now,
  );
  t.match(dropped, { status: 'dropped', progressPercentage: 100, justCompleted: false }, 'a dropped enrollment is not completed');
  const reactivated = calculateEnrollmentProgress(
    { status: 'active', completedAt: now },
    { totalLessons: 2, completedLessons: 2, totalTimeSpentSeconds: 0 },
    new Date(),
  );
  t.match(reactivated, { status: 'completed', completedAt: now, justCompleted: false }, 'a reactivated enrollment keeps its first completion');
  const grown = calculateEnrollmentProgress(
    { status: 'completed', completedAt: now },
    { totalLessons: 4, completedLessons: 3, totalTimeSpentSeconds: 0 },
    new Date(),
  );
  t.match(grown, { status: 'completed', progressPercentage: 75 }, 'lessons added later lower the percentage, not the status');
  t.match(calculateEnrollmentProgress(active, { totalLessons: 0, completedLessons: 0, totalTimeSpentSeconds: 0 }, now), {
    status: 'active',
    progressPercentage: 0,
  });
});

t.test('lesson tree and cycles', async (t) => {
  const tree = buildTree([
    { id: 'b', parentLessonId: null, orderIndex: 1 },
    { id: 'a', parentLessonId: null, orderIndex: 0 },
    { id: 'a2', parentLessonId: 'a', orderIndex: 1 },
    { id: 'a1', parentLessonId: 'a', orderIndex: 0 },
    { id: 'orphan', parentLessonId: 'gone', orderIndex: 5 },
  ]);
  t.same(
    tree.map((node) => node.id),
    ['a', 'b', 'orphan'],
  );
  t.same(
    tree[0]!.children.map((node) => node.id),
    ['a1', 'a2'],
  );
  t.same(
    findCycle([
      { id: 'a', parentLessonId: null },
      { id: 'b', parentLessonId: 'a' },
    ]),
    [],
  );
  t.ok(
    findCycle([
      { id: 'a', parentLessonId: 'b' },
      { id: 'b', parentLessonId: 'a' },
    ]).length > 0,
  );
  t.ok(findCycle([{ id: 'a', parentLessonId: 'a' }]).length > 0);
  t.ok(
    findCycle([
      { id: 'x', parentLessonId: 'a' },
      { id: 'a', parentLessonId: 'b' },
      { id: 'b', parentLessonId: 'a' },
    ]).length > 0,
  );
});

t.test('minimum and maximum of optional numbers: null only when both are', async (t) => {
  t.equal(minOfOptional(null, null), null);
  t.equal(minOfOptional(null, 3), 3);
  t.equal(minOfOptional(2, null), 2);
  t.equal(minOfOptional(2, 3), 2);
  t.equal(maxOfOptional(null, null), null);
  t.equal(maxOfOptional(null, 3), 3);
  t.equal(maxOfOptional(2, null), 2);
  t.equal(maxOfOptional(2, 3), 3);
});
