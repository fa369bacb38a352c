/**
 * Item analysis of a quiz (SPEC §8): figures over the graded attempts' per-question scores.
 *
 * The figures are computed from sums (n, Σx, Σx², Σx·T, ΣT, ΣT² …), so that PostgreSQL can
 * aggregate them over 10,000 stored results without moving the JSON to Node; `matrixSums` builds
 * the same sums from a score matrix, for small inputs and for tests. Sample (n − 1) variances;
 * figures rounded to 4 decimals; `null` where a figure is undefined.
 *
 * A cell is missing when an attempt has no result for a question (the question was added after
 * the attempt was graded). Per-question figures use the attempts that have the question; the
 * reliability uses the attempts that have every question somebody has (complete rows).
 */

/** One attempt's result for one question. */
export interface ScoreCell {
  points: number;
  maxPoints: number;
}

export interface ScoreMatrix {
  questionIds: string[];
  /** One row per attempt: its percentage and, per question in `questionIds` order, its cell or null. */
  rows: Array<{ percentage: number; cells: Array<ScoreCell | null> }>;
}

/** Sums over the attempts that have a result for one question; T is the attempt's total over the quiz's questions. */
export interface ItemSums {
  questionId: string;
  n: number;
  sumX: number;
  sumX2: number;
  sumXT: number;
  sumT: number;
  sumT2: number;
  /** Σ points / maxPoints over cells with maxPoints > 0. */
  sumFraction: number;
  /** Cells with maxPoints > 0 (the facility's denominator). */
  nFraction: number;
  /** Σx and Σx² over the complete rows only (for the reliability). */
  completeSumX: number;
  completeSumX2: number;
  /** The smallest and largest maxPoints among the cells; null without cells. */
  minMaxPoints: number | null;
  maxMaxPoints: number | null;
  /** Every cell scored 0 or its maxPoints. */
  rightWrong: boolean;
}

/** Sums of the attempts' totals over the complete rows. */
export interface TestSums {
  n: number;
  sumT: number;
  sumT2: number;
}

/** The percentages of the counted attempts. */
export interface PercentageSums {
  n: number;
  sum: number;
  sumSquares: number;
  /** The median (the mean of the two middle values for an even count); null without attempts. */
  median: number | null;
}

export interface StatisticsSums {
  items: ItemSums[];
  complete: TestSums;
  percentages: PercentageSums;
}

export type ReliabilityMethod = 'kr20' | 'alpha';

export interface ItemFigures {
  questionId: string;
  /** Mean fraction of points, 0–1. */
  facility: number | null;
  /** Corrected item-total correlation: the question's points against the total without them. */
  discrimination: number | null;
}

export interface QuizFigures {
  percentages: { count: number; mean: number | null; median: number | null; standardDeviation: number | null };
  reliability: {
    /** `kr20` when every question has the same points and is scored right/wrong, else `alpha`; null without any result. */
    method: ReliabilityMethod | null;
    value: number | null;
    /** Questions counted (those somebody has a result for). */
    items: number;
    /** Attempts counted (those with a result for every counted question). */
    attempts: number;
  };
  items: ItemFigures[];
}

/** Rounds to 4 decimals, half away from zero, never giving -0. */
export function round4(value: number): number {
  const scaled = Math.abs(value) * 10000;
  const rounded = (Math.sign(value) * Math.round(scaled + 1e-9 * Math.max(1, scaled))) / 10000;
  return rounded === 0 ? 0 : rounded;
}

const round4OrNull = (value: number | null): number | null => (value === null || !Number.isFinite(value) ? null : round4(value));

/**
 * The sum of squared deviations (n − 1 times the sample variance) from sums, or 0 when it is
 * zero up to rounding: sums of float values (0.1 × n) leave residues that must not read as variance.
 */
function deviationSquares(n: number, sum: number, sumSquares: number): number {
  const value = sumSquares - (sum * sum) / n;
  return value <= 1e-9 * Math.max(1, Math.abs(sumSquares)) ? 0 : value;
}

function sampleVariance(n: number, sum: number, sumSquares: number): number | null {
  if (n < 2) return null;
  return deviationSquares(n, sum, sumSquares) / (n - 1);
}

/** Corrected item-total correlation from the item's sums: x against R = T − x. */
function discrimination(item: ItemSums): number | null {
  const { n } = item;
  if (n < 2) return null;
  const sumR = item.sumT - item.sumX;
  const sumR2 = item.sumT2 - 2 * item.sumXT + item.sumX2;
  const sumXR = item.sumXT - item.sumX2;
  const sxx = deviationSquares(n, item.sumX, item.sumX2);
  const srr = deviationSquares(n, sumR, sumR2);
  if (sxx === 0 || srr === 0) return null;
  const r = (sumXR - (item.sumX * sumR) / n) / Math.sqrt(sxx * srr);
  // Rounding in the sums can push a perfect correlation a hair past ±1.
  return Math.max(-1, Math.min(1, r));
}

function reliability(items: ItemSums[], complete: TestSums): QuizFigures['reliability'] {
  const counted = items.filter((item) => item.n > 0);
  const k = counted.length;
  if (k === 0) return { method: null, value: null, items: 0, attempts: 0 };
  const points = counted.map((item) => item.minMaxPoints);
  const equalPoints = counted.every((item) => item.minMaxPoints === item.maxMaxPoints && item.minMaxPoints === points[0]);
  const method: ReliabilityMethod = equalPoints && counted.every((item) => item.rightWrong) ? 'kr20' : 'alpha';
  const n = complete.n;
  const totalVariance = sampleVariance(n, complete.sumT, complete.sumT2);
  if (k < 2 || totalVariance === null || totalVariance === 0) return { method, value: null, items: k, attempts: n };
  let itemVariances = 0;
  if (method === 'kr20') {
    // Σ p·q over right/wrong items of c points each, scaled to points and to the sample variance
    // (× n/(n − 1)), so that KR-20 is alpha's special case and both use (n − 1) variances.
    const c = points[0]!;
    for (const item of counted) {
      const p = item.completeSumX / (c * n);
      itemVariances += (c * c * p * (1 - p) * n) / (n - 1);
    }
  } else {
    for (const item of counted) itemVariances += sampleVariance(n, item.completeSumX, item.completeSumX2) ?? 0;
  }
  return { method, value: (k / (k - 1)) * (1 - itemVariances / totalVariance), items: k, attempts: n };
}

/** The figures from the sums (the one computation both the SQL and the matrix path use). */
export function itemStatistics(sums: StatisticsSums): QuizFigures {
  const { percentages } = sums;
  const rel = reliability(sums.items, sums.complete);
  const variance = sampleVariance(percentages.n, percentages.sum, percentages.sumSquares);
  return {
    percentages: {
      count: percentages.n,
      mean: percentages.n > 0 ? round4(percentages.sum / percentages.n) : null,
      median: round4OrNull(percentages.median),
      standardDeviation: variance === null || variance === 0 ? null : round4(Math.sqrt(variance)),
    },
    reliability: { ...rel, value: round4OrNull(rel.value) },
    items: sums.items.map((item) => ({
      questionId: item.questionId,
      facility: item.nFraction > 0 ? round4(item.sumFraction / item.nFraction) : null,
      discrimination: round4OrNull(discrimination(item)),
    })),
  };
}

/** The median of numbers (the mean of the two middle ones for an even count); null when empty. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The sums of a question before any attempt is added (the SQL path and the matrix path start here). */
export const emptyItemSums = (questionId: string): ItemSums => ({
  questionId,
  n: 0,
  sumX: 0,
  sumX2: 0,
  sumXT: 0,
  sumT: 0,
  sumT2: 0,
  sumFraction: 0,
  nFraction: 0,
  completeSumX: 0,
  completeSumX2: 0,
  minMaxPoints: null,
  maxMaxPoints: null,
  rightWrong: true,
});

/** The sums of a score matrix, as the SQL path aggregates them. */
export function matrixSums(matrix: ScoreMatrix): StatisticsSums {
  const { questionIds, rows } = matrix;
  const totals = rows.map((row) => row.cells.reduce((sum, cell) => sum + (cell?.points ?? 0), 0));
  const present = questionIds.map((_, column) => rows.some((row) => row.cells[column] != null));
  const complete = rows.map((row) => row.cells.every((cell, column) => cell != null || !present[column]));
  const items = questionIds.map((questionId, column): ItemSums => {
    const item = emptyItemSums(questionId);
    rows.forEach((row, index) => {
      const cell = row.cells[column];
      if (!cell) return;
      const x = cell.points;
      const total = totals[index];
      item.n++;
      item.sumX += x;
      item.sumX2 += x * x;
      item.sumXT += x * total;
      item.sumT += total;
      item.sumT2 += total * total;
      if (cell.maxPoints > 0) {
        item.sumFraction += x / cell.maxPoints;
        item.nFraction++;
      }
      if (complete[index]) {
        item.completeSumX += x;
        item.completeSumX2 += x * x;
      }
      item.minMaxPoints = item.minMaxPoints === null ? cell.maxPoints : Math.min(item.minMaxPoints, cell.maxPoints);
      item.maxMaxPoints = item.maxMaxPoints === null ? cell.maxPoints : Math.max(item.maxMaxPoints, cell.maxPoints);
      if (x !== 0 && x !== cell.maxPoints) item.rightWrong = false;
    });
    return item;
  });
  const completeTotals = totals.filter((_, index) => complete[index]);
  const percentages = rows.map((row) => row.percentage);
  return {
    items,
    complete: {
      n: completeTotals.length,
      sumT: completeTotals.reduce((sum, total) => sum + total, 0),
      sumT2: completeTotals.reduce((sum, total) => sum + total * total, 0),
    },
    percentages: {
      n: percentages.length,
      sum: percentages.reduce((sum, value) => sum + value, 0),
      sumSquares: percentages.reduce((sum, value) => sum + value * value, 0),
      median: median(percentages),
    },
  };
}

/** The figures of a score matrix. */
export function matrixStatistics(matrix: ScoreMatrix): QuizFigures {
  return itemStatistics(matrixSums(matrix));
}

/**
 * Answer counts of one question: keys are option ids, `true`/`false`, or short answers
 * normalised by `normalize`; seeded with `seed` (every option at 0) so a chart has every bar.
 * A `Map` and an array out: the keys are students' text, which must never index a plain object.
 */
export function countAnswers(
  seed: Map<string, number>,
  answers: Iterable<{ answer: string; count: number }>,
  normalize: (answer: string) => string = (answer) => answer,
): Array<{ answer: string; count: number }> {
  const counts = new Map(seed);
  for (const { answer, count } of answers) {
    const key = normalize(answer);
    counts.set(key, (counts.get(key) ?? 0) + count);
  }
  return Array.from(counts, ([answer, count]) => ({ answer, count }));
}
