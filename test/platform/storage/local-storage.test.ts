import { mkdtemp, readdir, rm, utimes, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import t from '../../helpers/tap.js';
import { LocalStorage, TEMP_FOLDER } from '../../../server/platform/storage/local-storage.js';
import { isStorageKey, normaliseFolder } from '../../../server/platform/storage/storage.js';

const dir = await mkdtemp(join(tmpdir(), 'classroom-storage-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
// Through a symlink, as /tmp often is: paths are checked against the real root.
await symlink(dir, `${dir}-link`);
t.teardown(() => rm(`${dir}-link`, { force: true }));
const storage = await LocalStorage.open(`${dir}-link`);

t.test('folders: [a-z0-9-_/] only, never dots, at most 255 characters', async (t) => {
  t.equal(normaliseFolder('lessons/week-1_a'), 'lessons/week-1_a');
  t.equal(normaliseFolder('/avatars/'), 'avatars');
  t.equal(normaliseFolder(''), null);
  t.equal(normaliseFolder(' / '), null);
  for (const bad of ['../', '..', 'a/../b', 'a//b', 'A', 'a b', 'a/./b', '.tmp', 'a\\b', '%2e%2e', 'x'.repeat(256)]) {
    t.equal(normaliseFolder(bad), undefined, bad);
  }
  t.equal(normaliseFolder('x'.repeat(255)), 'x'.repeat(255));
});

t.test('keys: what the storage generates, nothing else', async (t) => {
  t.ok(isStorageKey('0b7f6c1e-4a8d-4f4e-9c1a-2d3e4f5a6b7c.png'));
  t.ok(isStorageKey('a/b-c/0b7f6c1e-4a8d-4f4e-9c1a-2d3e4f5a6b7c.mp4'));
  for (const bad of ['../0b7f6c1e-4a8d-4f4e-9c1a-2d3e4f5a6b7c.png', '/etc/passwd', 'x.png', '.tmp/0b7f6c1e-4a8d-4f4e-9c1a-2d3e4f5a6b7c.png']) {
    t.notOk(isStorageKey(bad), bad);
  }
});

t.test('put moves a spool into place under a generated key; read, stat, delete', async (t) => {
  t.equal(storage.root, dir);
  const temp = await storage.createTempPath();
  t.equal(temp.startsWith(join(dir, TEMP_FOLDER)), true);
  await writeFile(temp, 'hello, storage');
  const key = await storage.put({ tempPath: temp }, { folder: 'notes/week-1', extension: 'TXT' });
  t.match(key, /^notes\/week-1\/[0-9a-f-]{36}\.txt$/);
  t.same(await readdir(join(dir, TEMP_FOLDER)), [], 'the spool was moved, not copied');
  t.equal(await text(await storage.createReadStream(key)), 'hello, storage');
  t.equal(await text(await storage.createReadStream(key, { start: 7, end: 13 })), 'storage');
  t.match(await storage.stat(key), { size: 14 });
  await storage.delete(key);
  t.equal(await storage.stat(key), null);
  await t.resolves(storage.delete(key), 'deleting twice is fine');
  await t.rejects(storage.createReadStream(key), { code: 'ENOENT' });
});

t.test('put also takes a stream', async (t) => {
  const key = await storage.put(Readable.from([Buffer.from('streamed')]), { folder: null, extension: 'txt' });
  t.match(key, /^[0-9a-f-]{36}\.txt$/);
  t.equal(await text(await storage.createReadStream(key)), 'streamed');
  t.same(await readdir(join(dir, TEMP_FOLDER)), []);
  const failing = new Readable({
    read() {
      this.destroy(new Error('client went away'));
    },
  });
  await t.rejects(storage.put(failing, { folder: null, extension: 'txt' }), /client went away/);
  t.same(await readdir(join(dir, TEMP_FOLDER)), [], 'a failed stream leaves no spool');
});

t.test('nothing outside the root is reachable', async (t) => {
  await t.rejects(storage.stat('../outside.png'), /Not a storage key/);
  await t.rejects(storage.createReadStream('/etc/passwd'), /Not a storage key/);
  await t.rejects(storage.delete('../../x.png'), /Not a storage key/);
  await t.rejects(storage.put({ tempPath: '/tmp/x' }, { folder: '../..', extension: 'png' }), /Invalid folder or extension/);
  await t.rejects(storage.put({ tempPath: '/etc/passwd' }, { folder: null, extension: 'png' }), /escapes the storage root/);
  await t.rejects(storage.discardTemp(join(dir, 'elsewhere.part')), /Not a temporary upload path/);
  await t.rejects(storage.discardTemp('/etc/passwd'), /escapes the storage root/);
});

t.test('stale spools are swept, fresh ones kept', async (t) => {
  const stale = await storage.createTempPath();
  const fresh = await storage.createTempPath();
  await writeFile(stale, 'old');
  await writeFile(fresh, 'new');
  const hourAgo = new Date(Date.now() - 2 * 3600_000);
  await utimes(stale, hourAgo, hourAgo);
  t.equal(await storage.sweepTemp(3600_000), 1);
  t.same(await readdir(join(dir, TEMP_FOLDER)), [fresh.split('/').pop()]);
  await storage.discardTemp(fresh);
  await rm(join(dir, TEMP_FOLDER), { recursive: true });
  t.equal(await storage.sweepTemp(0), 0, 'a missing temp folder is nothing to sweep');
  await mkdir(join(dir, TEMP_FOLDER));
});
