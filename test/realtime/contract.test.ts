import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from '../helpers/tap.js';
import { clientEvents, serverEvents, WS_FRAME_EVENTS } from '../../server/realtime/contract.js';
import { payloadError } from '../../server/realtime/payload-validation.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The modules `file` imports at run time (not `import type`), followed through relative imports. */
function runtimeImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
    const specifier = match[2]!;
    if (match[1]) continue;
    if (specifier.startsWith('.')) runtimeImports(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')), seen);
    else seen.add(specifier);
  }
  return seen;
}

t.test('the contract needs nothing of the server at run time but TypeBox', async (t) => {
  const packages = [...runtimeImports(resolve(root, 'server/realtime/contract.ts'))].filter((name) => !name.startsWith('/'));
  t.same(packages, ['typebox']);
});

t.test('every /ws frame type runs a client event of the contract', async (t) => {
  for (const [type, event] of Object.entries(WS_FRAME_EVENTS)) t.ok(Object.hasOwn(clientEvents, event), `${type} → ${event}`);
  t.ok(Object.keys(serverEvents).length > 0);
});

t.test('client payloads are validated against the contract schemas', async (t) => {
  const id = '8a6e0804-2bd0-4672-b79e-d97ff5d5e8f5';
  t.equal(payloadError('course:join', { courseId: id }), null);
  t.match(payloadError('course:join', { courseId: 'nope' }), /courseId/);
  t.match(payloadError('course:join', { courseId: id, extra: 1 }), /must not have the field "extra"/);
  t.equal(payloadError('lesson:progress', { lessonId: id, completionPercentage: 10 }), null);
  t.ok(payloadError('lesson:progress', { lessonId: id }), 'a field besides the lesson id');
  t.equal(payloadError('quiz:answer', { attemptId: id, questionId: id, answer: ['a'] }), null);
});
