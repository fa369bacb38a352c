import t from '../helpers/tap.js';
import { countAnswers, matrixStatistics, median, round4, type ScoreCell, type ScoreMatrix } from '../../server/domain/item-statistics.js';

/** A matrix from rows of points (null = no result), every question worth `maxPoints[column]`. */
function matrix(points: Array<Array<number | null>>, maxPoints: number[], percentages?: number[]): ScoreMatrix {
  return {
    questionIds: maxPoints.map((_, column) => `q${column + 1}`),
    rows: points.map((row, index) => ({
      percentage: percentages?.[index] ?? 0,
      cells: row.map((x, column): ScoreCell | null => (x === null ? null : { points: x, maxPoints: maxPoints[column]! })),
    })),
  };
}

// The hand-worked table: 5 students × 3 right/wrong questions of 1 point each.
//
//        q1 q2 q3 | T   percentage (T / 3, as stored: 2 decimals)
//   S1    1  1  1 | 3   100
//   S2    1  1  0 | 2    66.67
//   S3    1  0  1 | 2    66.67
//   S4    1  0  0 | 1    33.33
//   S5    0  0  0 | 0     0
//
// Facility (mean fraction of points): q1 4/5 = 0.8, q2 2/5 = 0.4, q3 2/5 = 0.4.
//
// Totals: mean 8/5 = 1.6; deviations 1.4, 0.4, 0.4, −0.6, −1.6; squares 1.96 + 0.16 + 0.16 +
// 0.36 + 2.56 = 5.2; sample variance s²_T = 5.2 / 4 = 1.3.
// Item sample variances: q1 (p = .8) Σ(x − .8)² = 4·0.04 + 0.64 = 0.8 → 0.2;
// q2 (p = .4) 2·0.36 + 3·0.16 = 1.2 → 0.3; q3 likewise 0.3. Σ = 0.8.
// KR-20 = k/(k−1) · (1 − Σ p·q·n/(n−1) / s²_T) = 3/2 · (1 − 0.8 / 1.3) = 1.5 · 0.5/1.3
//       = 0.576923… → 0.5769.
//
// Discrimination (x against R = T − x):
//   q1: x = 1,1,1,1,0 (mean .8), R = 2,1,1,0,0 (mean .8)
//       dx = .2,.2,.2,.2,−.8; dR = 1.2,.2,.2,−.8,−.8
//       Sxr = .24 + .04 + .04 − .16 + .64 = 0.8; Sxx = 0.8; SRR = 1.44 + .04 + .04 + .64 + .64 = 2.8
//       r = 0.8 / √(0.8 · 2.8) = 0.8 / 1.496663 = 0.534522 → 0.5345
//   q2: x = 1,1,0,0,0 (mean .4), R = 2,1,2,1,0 (mean 1.2)
//       dx = .6,.6,−.4,−.4,−.4; dR = .8,−.2,.8,−.2,−1.2
//       Sxr = .48 − .12 − .32 + .08 + .48 = 0.6; Sxx = 1.2; SRR = .64 + .04 + .64 + .04 + 1.44 = 2.8
//       r = 0.6 / √(1.2 · 2.8) = 0.6 / 1.833030 = 0.327327 → 0.3273
//   q3: x = 1,0,1,0,0, R = 2,2,1,1,0: the same sums as q2 → 0.3273
//
// Percentages: mean 266.67 / 5 = 53.334; median 66.67; deviations 46.666, 13.336, 13.336,
// −20.004, −53.334; squares 2177.715556 + 177.848896 + 177.848896 + 400.160016 + 2844.515556
// = 5778.08892; / 4 = 1444.52223; √ = 38.006871 → 38.0069.
const HAND = [
  [1, 1, 1],
  [1, 1, 0],
  [1, 0, 1],
  [1, 0, 0],
  [0, 0, 0],
];
const HAND_PERCENTAGES = [100, 66.67, 66.67, 33.33, 0];

t.test('the hand-worked table', async (t) => {
  const figures = matrixStatistics(matrix(HAND, [1, 1, 1], HAND_PERCENTAGES));
  t.same(figures.percentages, { count: 5, mean: 53.334, median: 66.67, standardDeviation: 38.0069 });
  t.same(figures.reliability, { method: 'kr20', value: 0.5769, items: 3, attempts: 5 });
  t.same(figures.items, [
    { questionId: 'q1', facility: 0.8, discrimination: 0.5345 },
    { questionId: 'q2', facility: 0.4, discrimination: 0.3273 },
    { questionId: 'q3', facility: 0.4, discrimination: 0.3273 },
  ]);
});

t.test('unequal points: Cronbach alpha', async (t) => {
  // q1 worth 2: its points 2,2,2,2,0; totals 4,3,3,2,0 (mean 2.4), deviations 1.6, .6, .6, −.4,
  // −2.4, squares 2.56 + .36 + .36 + .16 + 5.76 = 9.2, s²_T = 2.3. Item variances: q1 = 4 · 0.2
  // = 0.8, q2 = q3 = 0.3; Σ = 1.4. alpha = 1.5 · (1 − 1.4 / 2.3) = 1.5 · 0.9/2.3 = 0.586957 → 0.5870.
  // Facility is a fraction of points, so q1 stays 0.8; q1's discrimination is scale-free and its
  // rest (q2 + q3) unchanged: 0.5345. q2's rest is now 2·q1 + q3 = 3,2,3,2,0 (mean 2): dx = .6,.6,
  // −.4,−.4,−.4, dR = 1,0,1,0,−2; Sxr = .6 − .4 + .8 = 1.0, Sxx = 1.2, SRR = 1 + 1 + 4 = 6;
  // r = 1 / √7.2 = 0.372678 → 0.3727; q3 (rest 2·q1 + q2 = 3,3,2,2,0) the same sums.
  const doubled = HAND.map(([q1, q2, q3]) => [q1! * 2, q2!, q3!]);
  const figures = matrixStatistics(matrix(doubled, [2, 1, 1]));
  t.same(figures.reliability, { method: 'alpha', value: 0.587, items: 3, attempts: 5 });
  t.same(
    figures.items.map((item) => [item.facility, item.discrimination]),
    [
      [0.8, 0.5345],
      [0.4, 0.3727],
      [0.4, 0.3727],
    ],
  );
});

t.test('KR-20 needs equal points and right/wrong scoring; it agrees with alpha then', async (t) => {
  t.equal(
    matrixStatistics(
      matrix(
        HAND.map((row) => row.map((x) => x * 2)),
        [2, 2, 2],
      ),
    ).reliability.method,
    'kr20',
    'every question 2 points, 0 or 2',
  );
  t.equal(
    matrixStatistics(
      matrix(
        HAND.map((row) => row.map((x) => x * 2)),
        [2, 2, 2],
      ),
    ).reliability.value,
    0.5769,
    'the same value as with 1 point: reliability does not depend on the scale',
  );
  const partial = matrixStatistics(matrix([[0.5, 1, 1], ...HAND.slice(1)], [1, 1, 1]));
  t.equal(partial.reliability.method, 'alpha', 'a partial credit makes it alpha');
  // With half a point for S1 on q1: q1 = .5,1,1,1,0 (Σ 3.5, Σx² 3.25, Sxx = 3.25 − 2.45 = 0.8 → 0.2);
  // totals 2.5,2,2,1,0 (Σ 7.5, ΣT² 6.25 + 4 + 4 + 1 = 15.25, S = 15.25 − 11.25 = 4 → 1); Σ item
  // variances 0.2 + 0.3 + 0.3 = 0.8; alpha = 1.5 · (1 − 0.8) = 0.3.
  t.equal(partial.reliability.value, 0.3);
});

t.test('one attempt: only the means are defined', async (t) => {
  const figures = matrixStatistics(matrix([[1, 0, 1]], [1, 1, 1], [66.67]));
  t.same(figures.percentages, { count: 1, mean: 66.67, median: 66.67, standardDeviation: null });
  t.same(figures.reliability, { method: 'kr20', value: null, items: 3, attempts: 1 });
  t.same(
    figures.items.map((item) => [item.facility, item.discrimination]),
    [
      [1, null],
      [0, null],
      [1, null],
    ],
  );
});

t.test('no attempts', async (t) => {
  const figures = matrixStatistics(matrix([], [1, 1]));
  t.same(figures.percentages, { count: 0, mean: null, median: null, standardDeviation: null });
  t.same(figures.reliability, { method: null, value: null, items: 0, attempts: 0 });
  t.same(figures.items, [
    { questionId: 'q1', facility: null, discrimination: null },
    { questionId: 'q2', facility: null, discrimination: null },
  ]);
});

t.test('zero variance', async (t) => {
  // q1 right for everyone: no variance, no correlation; the others still have theirs.
  const allRight = HAND.map(([, q2, q3]) => [1, q2!, q3!]);
  const figures = matrixStatistics(matrix(allRight, [1, 1, 1], [50, 50, 50, 50, 50]));
  t.same(figures.items[0], { questionId: 'q1', facility: 1, discrimination: null });
  t.not(figures.items[1]!.discrimination, null);
  t.equal(figures.percentages.standardDeviation, null, 'equal percentages: no deviation');
  t.equal(figures.percentages.mean, 50);

  // Every total equal: no reliability; each question is the mirror of the rest (r = −1).
  const flat = matrixStatistics(
    matrix(
      [
        [1, 0],
        [0, 1],
        [1, 0],
      ],
      [1, 1],
    ),
  );
  t.equal(flat.reliability.value, null);
  t.same(
    flat.items.map((item) => item.discrimination),
    [-1, -1],
  );
  // Float residues of 0.1 × n must not read as variance.
  const tenths = matrixStatistics(
    matrix(
      [
        [0.1, 1],
        [0.1, 0],
        [0.1, 1],
        [0.1, 0],
        [0.1, 1],
        [0.1, 1],
        [0.1, 0],
      ],
      [1, 1],
    ),
  );
  t.equal(tenths.items[0]!.discrimination, null);
});

t.test('a question nobody answered', async (t) => {
  // q4 was added after every attempt: no result anywhere. It has no figures and is left out of the
  // reliability (which stays the hand-worked 0.5769 over q1–q3).
  const figures = matrixStatistics(
    matrix(
      HAND.map((row) => [...row, null]),
      [1, 1, 1, 1],
    ),
  );
  t.same(figures.items[3], { questionId: 'q4', facility: null, discrimination: null });
  t.same(figures.reliability, { method: 'kr20', value: 0.5769, items: 3, attempts: 5 });

  // A question everybody left blank scores 0 for all: facility 0 (defined), discrimination null.
  const blank = matrixStatistics(
    matrix(
      HAND.map((row) => [...row, 0]),
      [1, 1, 1, 1],
    ),
  );
  t.same(blank.items[3], { questionId: 'q4', facility: 0, discrimination: null });
  // It adds no variance but counts as an item: alpha = 4/3 · (1 − 0.8 / 1.3) = 0.512821.
  t.same(blank.reliability, { method: 'kr20', value: 0.5128, items: 4, attempts: 5 });
});

t.test('a question some attempts lack: per-question figures over those that have it, reliability over complete rows', async (t) => {
  // q4 added after S4 and S5 were graded. S1–S3 have it.
  const figures = matrixStatistics(
    matrix(
      [
        [1, 1, 1, 1],
        [1, 1, 0, 0],
        [1, 0, 1, 1],
        [1, 0, 0, null],
        [0, 0, 0, null],
      ],
      [1, 1, 1, 1],
    ),
  );
  t.equal(figures.items[3]!.facility, 0.6667, 'q4: 2 of the 3 that have it');
  t.equal(figures.reliability.attempts, 3);
  t.equal(figures.reliability.items, 4);
  t.equal(figures.items[0]!.facility, 0.8, 'q1 over all five');
});

t.test('round4 and median', async (t) => {
  t.equal(round4(0.12345), 0.1235);
  t.equal(round4(-0.12345), -0.1235, 'half away from zero');
  t.ok(Object.is(round4(-0.00001), 0), 'never -0');
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.equal(median([]), null);
});

t.test('answer counts keep user text out of plain objects', async (t) => {
  // Multiple choice: the options seeded at 0, option ids counted as they are.
  const seed = new Map([
    ['constructor', 0],
    ['toString', 0],
    ['valueOf', 0],
  ]);
  const options = countAnswers(seed, [
    { answer: 'constructor', count: 2 },
    { answer: 'toString', count: 3 },
  ]);
  t.same(options, [
    { answer: 'constructor', count: 2 },
    { answer: 'toString', count: 3 },
    { answer: 'valueOf', count: 0 },
  ]);
  t.equal(seed.get('constructor'), 0, 'the seed is not changed');

  // Short answers: no seed, normalised, merged.
  const short = countAnswers(
    new Map(),
    [
      { answer: ' Constructor ', count: 2 },
      { answer: 'constructor', count: 1 },
      { answer: '__proto__', count: 1 },
      { answer: 'toString', count: 3 },
      { answer: 'hasOwnProperty', count: 1 },
    ],
    (answer) => answer.trim().toLowerCase(),
  );
  t.same(short, [
    { answer: 'constructor', count: 3 },
    { answer: '__proto__', count: 1 },
    { answer: 'tostring', count: 3 },
    { answer: 'hasownproperty', count: 1 },
  ]);
  t.ok(
    short.every((entry) => Object.getPrototypeOf(entry) === Object.prototype && Object.keys(entry).join() === 'answer,count'),
    'plain entries with only their two fields',
  );
});
