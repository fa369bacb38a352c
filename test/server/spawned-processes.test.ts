import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from '../helpers/tap.js';

// A test file that dies at the top level never reaches its teardown: the API and worker
// processes it spawned must end with it rather than live on, holding ports and databases.
const helpers = new URL('../helpers/processes.ts', import.meta.url).pathname;

/** Whether `pid` runs (a zombie, waiting for a parent that never reaps it, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

for (const [how, ending] of [
  ['an uncaught error', `throw new Error('the test file failed at the top level');`],
  ['process.exit', 'process.exit(3);'],
] as const) {
  t.test(`children spawned through the helpers end when the test process ends by ${how}`, async (t) => {
    const script = `import { spawnEntry } from ${JSON.stringify(helpers)};
const sleeper = spawnEntry('test/server/fixtures/sleep-forever.ts', {});
await new Promise((resolve) => sleeper.child.stdout.once('data', resolve));
process.stdout.write(String(sleeper.child.pid) + '\\n');
${ending}`;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    parent.stdout.on('data', (chunk) => (out += chunk));
    const code = await new Promise<number | null>((resolve) => parent.once('exit', resolve));
    t.not(code, 0, 'the test process failed');
    const pid = Number(out.trim());
    t.ok(pid > 0, `the child's pid was reported (${out.trim()})`);
    const until = Date.now() + 5000;
    while (running(pid) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    t.notOk(running(pid), 'the spawned child is gone');
    if (running(pid)) process.kill(pid, 'SIGKILL');
  });
}
