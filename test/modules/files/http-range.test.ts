import t from '../../helpers/tap.js';
import { parseRange } from '../../../server/modules/files/http-range.js';

t.test('single ranges are served partially, clamped to the size', async (t) => {
  t.same(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 });
  t.same(parseRange('bytes=10-', 100), { kind: 'partial', start: 10, end: 99 });
  t.same(parseRange('bytes=90-200', 100), { kind: 'partial', start: 90, end: 99 });
  t.same(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
  t.same(parseRange('bytes=-500', 100), { kind: 'partial', start: 0, end: 99 });
  t.same(parseRange('Bytes = 5 - 5', 100), { kind: 'partial', start: 5, end: 5 });
  t.same(parseRange('bytes=99-99', 100), { kind: 'partial', start: 99, end: 99 });
});

t.test('ranges past the end are unsatisfiable', async (t) => {
  t.same(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=150-200', 100), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' });
});

t.test('anything else is ignored: the whole file is sent', async (t) => {
  for (const header of [undefined, '', 'items=0-5', 'bytes=0-1,5-6', 'bytes=-', 'bytes=5-2', 'bytes=a-b', 'bytes=0-5x', 'bytes=99999999999999999999-']) {
    t.same(parseRange(header, 100), { kind: 'full' }, String(header));
  }
  t.same(parseRange('bytes=-99999999999999999999', 100), { kind: 'full' });
  t.same(parseRange('bytes=1-99999999999999999999', 100), { kind: 'full' });
});
