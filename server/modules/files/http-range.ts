/** How to answer a `Range` request header for an object of a given size. */
export type RangeAnswer = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^(\d*)-(\d*)$/;

function toInt(text: string): number | null {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * Parses a `Range` header (RFC 9110 §14) against `size` bytes. One `bytes` range is served as
 * 206 (`start-end`, `start-`, or the suffix `-n`, clamped to the size); a range that starts
 * past the end is unsatisfiable (416). Anything else—no header, another unit, several ranges,
 * a malformed or reversed range—is ignored and the whole object is sent, as the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (!header) return { kind: 'full' };
  const match = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!match) return { kind: 'full' };
  const specs = match[1].split(',').map((spec) => spec.replace(/\s+/g, ''));
  if (specs.length !== 1) return { kind: 'full' };
  const parts = SINGLE_RANGE.exec(specs[0]);
  if (!parts) return { kind: 'full' };
  const [, first, last] = parts as unknown as [string, string, string];

  if (first === '') {
    if (last === '') return { kind: 'full' };
    const suffix = toInt(last);
    if (suffix === null) return { kind: 'full' };
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }

  const start = toInt(first);
  if (start === null) return { kind: 'full' };
  let end = size - 1;
  if (last !== '') {
    const requested = toInt(last);
    if (requested === null || requested < start) return { kind: 'full' };
    end = Math.min(requested, size - 1);
  }
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}
