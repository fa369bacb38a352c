/**
 * `numerator / denominator × 100`, rounded half-up to 2 decimals, without the binary-float
 * surprises of `Math.round(x * 100) / 100` (1.005 → 1.00). Inputs are non-negative.
 */
export function percentageHalfUp(numerator: number, denominator: number): number {
  if (denominator <= 0) return 0;
  // Work in hundredths of a percent with integer-friendly arithmetic: value × 10000 / d.
  const scaled = (numerator * 10000) / denominator;
  // Nudge by a tiny epsilon relative to the magnitude so that exact halves computed as
  // x.4999999999 still round up.
  return Math.round(scaled + 1e-9 * Math.max(1, Math.abs(scaled))) / 100;
}

/** Rounds a decimal value half-up to 2 decimals (scores, percentages given directly). */
export function roundHalfUp2(value: number): number {
  const scaled = value * 100;
  return Math.round(scaled + 1e-9 * Math.max(1, Math.abs(scaled))) / 100;
}

/** The smaller of two optional numbers: null only when both are (a minimum over no values). */
export const minOfOptional = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

/** The larger of two optional numbers: null only when both are. */
export const maxOfOptional = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));
