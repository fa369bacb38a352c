import t from '../../helpers/tap.js';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import { openFileContent, uploadFile, type FormPart } from '../../../server/modules/files/files.service.js';

// The files service without HTTP: an upload is a sequence of form parts, content a status,
// headers and a stream.
const { app } = await buildTestApp(t, 'files-service');
const instructor = await createUser(app, 'instructor');
const auth = { id: instructor.id, role: 'instructor' as const };
const BODY = 'Plain text notes for the class.\n';

async function* form(parts: FormPart[]): AsyncIterable<FormPart> {
  yield* parts;
}
const filePart = (data: string | Buffer, filename = 'notes.txt'): FormPart => ({
  type: 'file',
  fieldname: 'file',
  filename,
  file: Readable.from([Buffer.from(data)]),
});
const field = (fieldname: string, value: string): FormPart => ({ type: 'field', fieldname, value, valueTruncated: false, fieldnameTruncated: false });

const uploaded = await uploadFile(app.forkDeps(), auth, form([field('isPublic', 'false'), filePart(BODY)]));

t.test('an upload judged by its bytes is stored and gets a row', async (t) => {
  t.match(uploaded, { originalFilename: 'notes.txt', mimeType: 'text/plain', fileSize: BODY.length, isPublic: false, uploaderId: instructor.id });
  const content = await openFileContent(app.forkDeps(), auth, uploaded.id, {}, undefined);
  if (content.status !== 200) throw new Error(`status ${content.status}`);
  t.equal(content.headers['content-length'], BODY.length);
  t.equal(await text(content.stream), BODY);
});

t.test('a refused upload leaves no spool and no row', async (t) => {
  const before = await app.orm.em.fork().getConnection().execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM uploaded_files');
  await t.rejects(uploadFile(app.forkDeps(), auth, form([filePart('<svg xmlns="http://www.w3.org/2000/svg"></svg>', 'x.svg')])), {
    code: 'UNSUPPORTED_MEDIA_TYPE',
  });
  await t.rejects(uploadFile(app.forkDeps(), auth, form([field('colour', 'red'), filePart(BODY)])), { code: 'VALIDATION_ERROR' });
  const after = await app.orm.em.fork().getConnection().execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM uploaded_files');
  t.equal(after[0]!.n, before[0]!.n);
  const { readdir } = await import('node:fs/promises');
  t.same(
    (await readdir(`${app.config.storageDir}/.tmp`)).filter((name) => name.endsWith('.part')),
    [],
    'no spool left',
  );
});

t.test('one range is a 206 slice; a range beyond the size is refused with 416', async (t) => {
  const partial = await openFileContent(app.forkDeps(), auth, uploaded.id, {}, 'bytes=6-9');
  if (partial.status !== 206) throw new Error(`status ${partial.status}`);
  t.equal(partial.headers['content-range'], `bytes 6-9/${BODY.length}`);
  t.equal(partial.headers['content-length'], 4);
  t.equal(await text(partial.stream), BODY.slice(6, 10));

  const beyond = await openFileContent(app.forkDeps(), auth, uploaded.id, {}, `bytes=${BODY.length}-`);
  t.equal(beyond.status, 416);
  t.equal(beyond.headers['content-range'], `bytes */${BODY.length}`);
  t.notOk('stream' in beyond, 'no bytes opened');
});

t.test('someone who may not read a private file gets 404; a bad signature 403', async (t) => {
  const stranger = await createUser(app, 'student');
  await t.rejects(openFileContent(app.forkDeps(), { id: stranger.id, role: 'student' }, uploaded.id, {}, undefined), { code: 'NOT_FOUND' });
  await t.rejects(openFileContent(app.forkDeps(), null, uploaded.id, { expires: 4102444800, signature: 'forged' }, undefined), { code: 'FORBIDDEN' });
});
