import t from '../helpers/tap.js';
import { jsonLimitError, jsonLimited, JSON_LIMITS_KEYWORD } from '../../server/platform/json-limits.js';

function nested(depth: number, inner: unknown = 1): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
}

t.test('depth: containers count, scalars do not', async (t) => {
  t.equal(jsonLimitError(1, { maxDepth: 0 }), null);
  t.equal(jsonLimitError('text', { maxDepth: 0 }), null);
  t.match(jsonLimitError({}, { maxDepth: 0 }), /more than 0 levels/);
  t.equal(jsonLimitError(nested(32), { maxDepth: 32 }), null, '32 levels pass 32');
  t.match(jsonLimitError(nested(33), { maxDepth: 32 }), /must not nest more than 32 levels deep/);
  t.equal(jsonLimitError({ a: [1, 2, { b: null }], c: { d: 'e' } }, { maxDepth: 3 }), null, 'wide is not deep');
  t.match(jsonLimitError({ a: [1, 2, { b: [] }] }, { maxDepth: 3 }), /3 levels/);
});

t.test('a million levels are refused without recursion', async (t) => {
  const deep = nested(1_000_000);
  t.throws(() => JSON.stringify(deep), RangeError, 'what the limit protects');
  t.match(jsonLimitError(deep, { maxDepth: 64 }), /64 levels/);
});

t.test('size: characters of the JSON text, stopping early', async (t) => {
  const value = { note: 'x'.repeat(100) };
  const length = JSON.stringify(value).length;
  t.equal(jsonLimitError(value, { maxDepth: 2, maxLength: length }), null, 'exactly the JSON length passes');
  t.match(jsonLimitError(value, { maxDepth: 2, maxLength: length - 1 }), /larger than 110 characters/);
  const list = [1, true, null, 'ab', { k: 'v' }];
  t.equal(jsonLimitError(list, { maxDepth: 2, maxLength: JSON.stringify(list).length }), null, 'scalars of every kind are counted as written');
  t.match(jsonLimitError(list, { maxDepth: 2, maxLength: JSON.stringify(list).length - 1 }), /larger/);
  t.match(jsonLimitError(new Array(1_000_000).fill(0), { maxDepth: 2, maxLength: 1000 }), /larger than 1000/, 'a long array is refused before it is walked');
  t.equal(jsonLimitError(JSON.parse('{"__proto__": {"a": 1}, "constructor": 2}'), { maxDepth: 2, maxLength: 100 }), null, 'odd keys are plain data');
});

t.test('schema options carry the keyword and document the bound', async (t) => {
  t.same(jsonLimited({ maxDepth: 4, maxLength: 2048 }, 'Notes'), {
    [JSON_LIMITS_KEYWORD]: { maxDepth: 4, maxLength: 2048 },
    description: 'Notes. At most 4 levels deep and 2,048 characters of JSON.',
  });
  t.same(jsonLimited({ maxDepth: 4 }).description, 'At most 4 levels deep.');
});
