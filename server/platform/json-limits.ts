/**
 * Bounds on free-form JSON (metadata, quiz answers, answer keys). Without them a body within the
 * byte limit can nest thousands of levels deep, and the first `JSON.stringify` on the way to the
 * database (or into a log or an error message) overflows the stack: a 500 for one request, and a
 * stored value nobody can read back.
 */

export interface JsonLimits {
  /** Deepest nesting of arrays and objects: `{}` is 1, `{"a": []}` is 2, a scalar is 0. */
  maxDepth: number;
  /** Largest size, in characters of its JSON text (escapes not counted); unbounded when absent. */
  maxLength?: number;
}

/** Free-form JSON fields: metadata, answer keys. */
export const FREE_JSON_LIMITS: JsonLimits = { maxDepth: 32, maxLength: 65_536 };
/** One answer of a quiz attempt (the longest, a short answer, is 10,000 characters). */
export const ANSWER_JSON_LIMITS: JsonLimits = { maxDepth: 32, maxLength: 32_768 };
/**
 * Every JSON request body and realtime payload, whatever its schema says: a backstop for fields
 * typed as anything, above every legitimate shape (free-form fields sit a few levels down).
 */
export const PAYLOAD_JSON_LIMITS: JsonLimits = { maxDepth: 64 };

/** The schema keyword that applies `JsonLimits` to a field (see `server/platform/validation.ts`). */
export const JSON_LIMITS_KEYWORD = 'x-json-limits';

/** Schema options that bound a free-form field, for TypeBox's `Type.*(…, options)`. */
export function jsonLimited(limits: JsonLimits, description?: string) {
  const size = limits.maxLength === undefined ? '' : ` and ${limits.maxLength.toLocaleString('en')} characters of JSON`;
  const bound = `At most ${limits.maxDepth} levels deep${size}.`;
  return { [JSON_LIMITS_KEYWORD]: limits, description: description ? `${description}. ${bound}` : bound };
}

/**
 * Null when `value` is within `limits`, else what is wrong with it. Walks the value with an
 * explicit stack, never by recursion, so the check itself cannot overflow on the input it is
 * there to refuse; it stops at the first level or character over the limit.
 */
export function jsonLimitError(value: unknown, limits: JsonLimits): string | null {
  const maxLength = limits.maxLength ?? Infinity;
  const values: unknown[] = [value];
  const depths: number[] = [0];
  let length = 0;
  while (values.length > 0) {
    const item = values.pop();
    const depth = depths.pop()!;
    if (item !== null && typeof item === 'object') {
      const inner = depth + 1;
      if (inner > limits.maxDepth) return `must not nest more than ${limits.maxDepth} levels deep`;
      const keys = Array.isArray(item) ? null : Object.keys(item);
      const count = keys ? keys.length : (item as unknown[]).length;
      // Brackets and commas; each key adds its quotes and colon.
      length += 2 + Math.max(0, count - 1);
      if (keys) for (const key of keys) length += key.length + 3;
      if (length > maxLength) return `must not be larger than ${maxLength} characters of JSON`;
      if (keys) {
        for (const key of keys) {
          values.push((item as Record<string, unknown>)[key]);
          depths.push(inner);
        }
      } else {
        const array = item as unknown[];
        for (let i = array.length - 1; i >= 0; i--) {
          values.push(array[i]);
          depths.push(inner);
        }
      }
    } else if (typeof item === 'string') {
      length += item.length + 2;
    } else if (item !== undefined) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only scalars get here (JSON: numbers, booleans, null)
      length += String(item).length;
    }
    if (length > maxLength) return `must not be larger than ${maxLength} characters of JSON`;
  }
  return null;
}
