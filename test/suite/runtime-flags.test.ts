import { readFile } from 'node:fs/promises';
import t from '../helpers/tap.js';
import { NODE_FLAGS } from '../../bench/lib/proc.js';

// The benchmark measures the server as `npm start` runs it: the V8 flags of package.json's
// `start` and `worker` scripts are those every benchmark process gets (bench/lib/proc.ts).

t.test('npm start, npm run worker and the benchmark processes run Node with the same V8 flags', async (t) => {
  const { scripts } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  const flagsOf = (script: string) => {
    const [node, ...rest] = script.split(' ');
    t.equal(node, 'node', `${script} starts node`);
    return rest.slice(0, rest.indexOf('--import'));
  };
  t.same(flagsOf(scripts.start!), NODE_FLAGS);
  t.same(flagsOf(scripts.worker!), NODE_FLAGS);
  t.ok(NODE_FLAGS.includes('--no-allocation-site-pretenuring'), 'pretenuring off (docs/operations.md)');
});
