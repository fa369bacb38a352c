/**
 * What every scenario shares: its own full and smoke sizes, alternated pairs, and rows that
 * judge a ratio (ours / baseline, median of the pairwise ratios) or an absolute value.
 */
import type { BenchEnv } from './env.js';
import { median } from './proc.js';
import type { Row } from './report.js';

/** A scenario module's export (registered under its number in `scenarios/index.ts`). */
export interface Scenario<S = Record<string, number>> {
  full: S;
  smoke: S;
  run(bench: BenchEnv, sizes: S & { pairs: number }): Promise<Row[]>;
}

/**
 * `pairs` measurements of each side, alternating which goes first, so drift (JIT, caches,
 * a busy neighbour) does not favour one side.
 */
export async function alternate<T>(pairs: number, ours: () => Promise<T>, baseline: () => Promise<T>): Promise<Array<{ ours: T; baseline: T }>> {
  const result: Array<{ ours: T; baseline: T }> = [];
  for (let pair = 0; pair < pairs; pair++) {
    if (pair % 2 === 0) {
      const o = await ours();
      result.push({ ours: o, baseline: await baseline() });
    } else {
      const b = await baseline();
      result.push({ ours: await ours(), baseline: b });
    }
  }
  return result;
}

export interface RowSpec<T> {
  scenario: string;
  metric: string;
  pick: (measured: T) => number;
  better: Row['better'];
  unit: string;
  /** Goal on the ratio (≥ when `better` is higher, ≤ when lower), or null. */
  goal?: number | null;
  /** Goal on our absolute value (median over the pairs), e.g. p99 ≤ 250 ms. */
  absoluteGoal?: number;
  note?: string;
}

/** A row from alternated pairs: medians of each side and the median of the pairwise ratios. */
export function ratioRow<T>(pairs: Array<{ ours: T; baseline: T }>, spec: RowSpec<T>): Row {
  const list = pairs.map((p) => {
    const ours = spec.pick(p.ours);
    const baseline = spec.pick(p.baseline);
    return { ours, baseline, ratio: ours / baseline };
  });
  return {
    scenario: spec.scenario,
    metric: spec.metric,
    better: spec.better,
    unit: spec.unit,
    ours: median(list.map((p) => p.ours)),
    baseline: median(list.map((p) => p.baseline)),
    ratio: median(list.map((p) => p.ratio)),
    goal: spec.goal ?? null,
    ...(spec.absoluteGoal !== undefined ? { absoluteGoal: spec.absoluteGoal } : {}),
    pairs: list,
    ...(spec.note ? { note: spec.note } : {}),
  };
}

/** A row with no baseline (a figure the issue asks to report, judged only on its own value). */
export function valueRow(spec: Omit<RowSpec<number>, 'pick' | 'goal'> & { values: number[] }): Row {
  return {
    scenario: spec.scenario,
    metric: spec.metric,
    better: spec.better,
    unit: spec.unit,
    ours: median(spec.values),
    baseline: NaN,
    ratio: NaN,
    goal: null,
    ...(spec.absoluteGoal !== undefined ? { absoluteGoal: spec.absoluteGoal } : {}),
    pairs: spec.values.map((ours) => ({ ours, baseline: NaN, ratio: NaN })),
    ...(spec.note ? { note: spec.note } : {}),
  };
}
