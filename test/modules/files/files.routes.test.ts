import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import t from '../../helpers/tap.js';
import { Course, Enrollment, type EnrollmentStatus } from '../../../entities/index.js';
import { deriveFileUrlKey, signFileUrl } from '../../../server/platform/signed-url.js';
import { FileJson, SignedUrl } from '../../../server/modules/files/files.schemas.js';
import { buildTestApp } from '../../helpers/app.js';
import { bodyOf, call, errorOf, replyOf } from '../../helpers/http.js';
import { multipartBody, type FilePart } from '../../helpers/multipart.js';
import { OpenApiDocument } from '../../helpers/openapi.js';
import { createUser, type TestUser } from '../../helpers/users.js';

const MAX_BYTES = 4096;
const { app, config } = await buildTestApp(t, 'files', { UPLOAD_MAX_BYTES: String(MAX_BYTES) });
const root = config.storageDir;

// --- sample content: real headers, built here ---

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid 1×1 RGBA PNG. */
const PNG = (() => {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.from([0, 255, 0, 0, 255]))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
})();

const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n' +
    'trailer\n<< /Root 1 0 R >>\n%%EOF\n',
);

/** An `ftyp` box (isom) followed by a small `mdat`. */
const MP4 = (() => {
  const ftyp = Buffer.alloc(32);
  ftyp.writeUInt32BE(32, 0);
  ftyp.write('ftypisom', 4, 'ascii');
  ftyp.writeUInt32BE(0x200, 12);
  ftyp.write('isomiso2avc1mp41', 16, 'ascii');
  const payload = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  const mdat = Buffer.alloc(8);
  mdat.writeUInt32BE(8 + payload.length, 0);
  mdat.write('mdat', 4, 'ascii');
  return Buffer.concat([ftyp, mdat, payload]);
})();

const HTML = '<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="5"/></svg>';

// --- helpers ---

/** Every entry under the storage root (files and folders), relative, sorted. */
async function onDisk(): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map(String).sort();
}

async function upload(user: TestUser | null, file: FilePart | null, fields: Record<string, string> | Array<[string, string]> = {}) {
  const body = multipartBody(fields, file ? [file] : []);
  return call(app, 'POST', '/api/files', { headers: { ...body.headers, ...(user?.headers ?? {}) } }, body.payload);
}

async function uploadOk(user: TestUser, file: FilePart, fields: Record<string, string> = {}): Promise<FileJson> {
  return bodyOf(await upload(user, file, fields), 201, FileJson);
}

async function storagePathOf(id: string): Promise<string> {
  const [row] = await app.orm.em.fork().getConnection().execute<Array<{ storage_path: string }>>('select storage_path from uploaded_files where id = ?', [id]);
  return row!.storage_path;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function createCourse(instructorId: string, slug: string): Promise<string> {
  const em = app.orm.em.fork();
  const course = em.create(Course, { title: slug, slug, instructor: instructorId, isPublished: true });
  await em.flush();
  return course.id;
}

async function enroll(studentId: string, courseId: string, status: EnrollmentStatus): Promise<void> {
  const em = app.orm.em.fork();
  em.create(Enrollment, { student: studentId, course: courseId, status });
  await em.flush();
}

const instructor = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');

// --- uploads ---

await t.test('a real PNG, PDF and MP4 are accepted by their bytes and stored under generated names', async (t) => {
  const png = await uploadOk(instructor, { filename: 'diagram.png', contentType: 'image/png', data: PNG });
  t.match(png, {
    filename: /^[0-9a-f-]{36}\.png$/,
    originalFilename: 'diagram.png',
    url: `/api/files/${png.id}/content`,
    mimeType: 'image/png',
    fileSize: PNG.length,
    folder: null,
    isPublic: false,
    courseId: null,
    uploaderId: instructor.id,
  });
  t.ok(Date.parse(png.createdAt));
  t.equal(await storagePathOf(png.id), png.filename);
  t.ok(await exists(join(root, png.filename)));

  // The claimed Content-Type and name count for nothing: the bytes decide.
  const pdf = await uploadOk(instructor, { filename: 'syllabus.txt', contentType: 'text/plain', data: PDF });
  t.match(pdf, { mimeType: 'application/pdf', filename: /\.pdf$/, originalFilename: 'syllabus.txt' });
  const mp4 = await uploadOk(instructor, { filename: 'lecture', contentType: 'application/octet-stream', data: MP4 });
  t.match(mp4, { mimeType: 'video/mp4', filename: /\.mp4$/, fileSize: MP4.length });
  const txt = await uploadOk(admin, { filename: 'notes.md', data: 'Week 1: a < b and b > c.\nÇa va ✓\n' });
  t.match(txt, { mimeType: 'text/plain', filename: /\.txt$/ });

  const [row] = await app.orm.em.fork().getConnection().execute('select file_type, storage_provider, file_url from uploaded_files where id = ?', [mp4.id]);
  t.same(row, { file_type: 'video', storage_provider: 'local', file_url: `/api/files/${mp4.id}/content` });
  t.same(await readdir(join(root, '.tmp')), [], 'no spool left behind');
});

await t.test('HTML and SVG sent as image/png are refused, leaving nothing on disk', async (t) => {
  const before = await onDisk();
  for (const [label, data] of [
    ['HTML', HTML],
    ['SVG', SVG],
    ['XML-declared SVG', `<?xml version="1.0"?>${SVG}`],
    ['an executable', Buffer.from('4d5a90000300000004000000ffff0000b800000000000000', 'hex')],
    ['binary noise', Buffer.from([0x13, 0x37, 0x00, 0x01, 0x02, 0x80, 0x81])],
    ['Latin-1 text', Buffer.from('caf\xe9 cr\xe8me', 'latin1')],
  ] as const) {
    const response = await upload(instructor, { filename: 'image.png', contentType: 'image/png', data });
    t.equal(response.status, 415, label);
    t.match(errorOf(response, 415), { statusCode: 415, error: 'Unsupported Media Type', code: 'UNSUPPORTED_MEDIA_TYPE' }, label);
  }
  t.same(await onDisk(), before, 'nothing was added, not even in .tmp');
});

await t.test('one byte over UPLOAD_MAX_BYTES is 413 and leaves nothing on disk', async (t) => {
  const exact = Buffer.concat([Buffer.from('x'.repeat(MAX_BYTES))]);
  const atLimit = await uploadOk(instructor, { filename: 'limit.txt', data: exact });
  t.equal(atLimit.fileSize, MAX_BYTES, 'exactly the limit is fine');

  const before = await onDisk();
  const response = await upload(instructor, { filename: 'big.txt', data: Buffer.concat([exact, Buffer.from('x')]) });
  t.match(errorOf(response, 413), { statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
  const binary = await upload(instructor, { filename: 'big.mp4', data: Buffer.concat([MP4, Buffer.alloc(MAX_BYTES)]) });
  t.equal(binary.status, 413);
  t.same(await onDisk(), before);
});

await t.test('neither the file name nor the folder can escape STORAGE_DIR', async (t) => {
  const file = await uploadOk(instructor, { filename: '../../x.png', data: PNG });
  t.equal(file.originalFilename, 'x.png', 'the name is data only');
  t.notOk(await exists(join(root, '..', 'x.png')));
  t.notOk(await exists(join(root, '..', '..', 'x.png')));

  const before = await onDisk();
  for (const folder of ['../', '..', '../../etc', 'a/../../b', 'a//b', '/..', 'Week1', 'a b', '.tmp', 'x'.repeat(256)]) {
    const response = await upload(instructor, { filename: 'x.png', data: PNG }, { folder });
    t.equal(response.status, 400, folder);
    t.equal(errorOf(response, 400).code, 'VALIDATION_ERROR', folder);
  }
  t.same(await onDisk(), before);

  const filed = await uploadOk(instructor, { filename: 'x.png', data: PNG }, { folder: '/lessons/week-1/' });
  t.equal(filed.folder, 'lessons/week-1');
  t.equal(await storagePathOf(filed.id), `lessons/week-1/${filed.filename}`);
  t.ok(await exists(join(root, 'lessons', 'week-1', filed.filename)));

  for (const entry of await onDisk()) t.notMatch(entry, /\.\./, `${entry} stays inside`);
});

await t.test('only instructors and admins upload; malformed forms are 4xx, never 500', async (t) => {
  t.equal((await upload(null, { filename: 'x.png', data: PNG })).status, 401);
  t.equal((await upload(student, { filename: 'x.png', data: PNG })).status, 403);

  const before = await onDisk();
  const json = await call(app, 'POST', '/api/files', instructor, { file: 'x' });
  t.equal(errorOf(json, 415).code, 'UNSUPPORTED_MEDIA_TYPE');
  const octets = await app.inject({
    method: 'POST',
    url: '/api/files',
    headers: { ...instructor.headers, 'content-type': 'application/octet-stream' },
    payload: PNG,
  });
  t.equal(errorOf(replyOf(octets), 415).code, 'UNSUPPORTED_MEDIA_TYPE');

  const noBoundary = await app.inject({
    method: 'POST',
    url: '/api/files',
    headers: { ...instructor.headers, 'content-type': 'multipart/form-data' },
    payload: 'garbage',
  });
  t.equal(errorOf(replyOf(noBoundary), 400).code, 'VALIDATION_ERROR');

  const truncated = multipartBody({}, [{ filename: 'x.png', data: PNG }]);
  const cut = await app.inject({
    method: 'POST',
    url: '/api/files',
    headers: { ...truncated.headers, ...instructor.headers },
    payload: truncated.payload.subarray(0, truncated.payload.length - 30),
  });
  t.equal(cut.statusCode, 400, 'a body cut short');

  const two = multipartBody({}, [
    { filename: 'a.png', data: PNG },
    { filename: 'b.png', data: PNG },
  ]);
  const twoFiles = await app.inject({ method: 'POST', url: '/api/files', headers: { ...two.headers, ...instructor.headers }, payload: two.payload });
  t.equal(twoFiles.statusCode, 400, 'two files');

  const cases: Array<[string, FilePart | null, Array<[string, string]>, number]> = [
    ['no file', null, [['folder', 'a']], 400],
    ['empty file', { filename: 'empty.txt', data: '' }, [], 400],
    ['file under another name', { name: 'upload', filename: 'x.png', data: PNG }, [], 400],
    ['unknown field', { filename: 'x.png', data: PNG }, [['owner', 'me']], 400],
    ['__proto__ field', { filename: 'x.png', data: PNG }, [['__proto__', 'x']], 400],
    ['isPublic not a boolean', { filename: 'x.png', data: PNG }, [['isPublic', 'yes']], 400],
    ['courseId not a UUID', { filename: 'x.png', data: PNG }, [['courseId', '42']], 400],
    [
      'folder twice',
      { filename: 'x.png', data: PNG },
      [
        ['folder', 'a'],
        ['folder', 'b'],
      ],
      400,
    ],
    ['a field too long', { filename: 'x.png', data: PNG }, [['folder', 'a'.repeat(2000)]], 400],
    ['unknown course', { filename: 'x.png', data: PNG }, [['courseId', '00000000-0000-4000-8000-000000000000']], 404],
  ];
  for (const [label, file, fields, status] of cases) {
    const response = await upload(instructor, file, fields);
    t.equal(response.status, status, label);
    t.match(errorOf(response, status), { statusCode: status, code: /^[A-Z_]+$/, message: String }, label);
  }
  // Names of Object.prototype members: @fastify/multipart refuses them before our form reader
  // (which looks fields up as own properties all the same).
  for (const name of ['toString', 'constructor', 'hasOwnProperty']) {
    const response = await upload(instructor, { filename: 'x.png', data: PNG }, [[name, 'x']]);
    t.equal(response.status, 400, `${name} field`);
    t.match(errorOf(response, 400), { code: 'VALIDATION_ERROR', message: /form field/ }, `${name} field`);
  }
  t.same(await onDisk(), before, 'nothing left on disk by any of them');
});

await t.test('courseId: own courses for instructors, any course for admins', async (t) => {
  const course = await createCourse(instructor.id, 'upload-course');
  const own = await uploadOk(instructor, { filename: 'x.png', data: PNG }, { courseId: course.toUpperCase() });
  t.equal(own.courseId, course);
  const response = await upload(otherInstructor, { filename: 'x.png', data: PNG }, { courseId: course });
  t.equal(errorOf(response, 403).code, 'FORBIDDEN');
  const byAdmin = await uploadOk(admin, { filename: 'x.png', data: PNG }, { courseId: course, isPublic: 'false' });
  t.equal(byAdmin.courseId, course);
});

await t.test('a failed insert removes the stored bytes', async (t) => {
  const connection = app.orm.em.fork().getConnection();
  await connection.execute(`
    create function refuse_upload() returns trigger language plpgsql as $$
    begin
      if new.original_filename = 'refuse-me.png' then raise exception 'refused by test trigger'; end if;
      return new;
    end $$`);
  await connection.execute('create trigger refuse_upload before insert on uploaded_files for each row execute function refuse_upload()');
  t.teardown(async () => {
    await connection.execute('drop trigger refuse_upload on uploaded_files');
    await connection.execute('drop function refuse_upload');
  });
  const before = await onDisk();
  const response = await upload(instructor, { filename: 'refuse-me.png', data: PNG });
  t.equal(errorOf(response, 500).code, 'INTERNAL_ERROR');
  t.same(await onDisk(), before);
});

// --- access ---

await t.test('who may read: public, private and course files', async (t) => {
  const course = await createCourse(instructor.id, 'access-course');
  const active = await createUser(app, 'student');
  const completed = await createUser(app, 'student');
  const dropped = await createUser(app, 'student');
  await enroll(active.id, course, 'active');
  await enroll(completed.id, course, 'completed');
  await enroll(dropped.id, course, 'dropped');
  // Enrolled elsewhere: enrollment in one course opens nothing of another.
  const elsewhere = await createCourse(otherInstructor.id, 'other-course');
  await enroll(student.id, elsewhere, 'active');

  const publicFile = await uploadOk(instructor, { filename: 'public.png', data: PNG }, { isPublic: 'true' });
  const privateFile = await uploadOk(instructor, { filename: 'private.png', data: PNG });
  const courseFile = await uploadOk(instructor, { filename: 'course.pdf', data: PDF }, { courseId: course });
  const adminCourseFile = await uploadOk(admin, { filename: 'admin.pdf', data: PDF }, { courseId: course });

  const callers: Array<[string, TestUser | null]> = [
    ['anonymous', null],
    ['student not enrolled', student],
    ['active enrollee', active],
    ['completed enrollee', completed],
    ['dropped student', dropped],
    ['other instructor', otherInstructor],
    ['uploader', instructor],
    ['admin', admin],
  ];
  const matrix: Array<[string, string, boolean[]]> = [
    ['public', publicFile.id, [true, true, true, true, true, true, true, true]],
    ['private', privateFile.id, [false, false, false, false, false, false, true, true]],
    ['course', courseFile.id, [false, false, true, true, false, false, true, true]],
    // The course's instructor reads a file an admin attached to the course.
    ['admin-uploaded course', adminCourseFile.id, [false, false, true, true, false, false, true, true]],
  ];
  for (const [kind, id, allowed] of matrix) {
    for (const [index, [who, caller]] of callers.entries()) {
      const headers = caller?.headers ?? {};
      const expected = allowed[index] ? 200 : 404;
      const meta = await app.inject({ method: 'GET', url: `/api/files/${id}`, headers });
      t.equal(meta.statusCode, expected, `${who} → ${kind} metadata`);
      const content = await app.inject({ method: 'GET', url: `/api/files/${id}/content`, headers });
      t.equal(content.statusCode, expected, `${who} → ${kind} content`);
      const url = await app.inject({ method: 'GET', url: `/api/files/${id}/url`, headers });
      t.equal(url.statusCode, expected, `${who} → ${kind} signed URL`);
      if (!allowed[index]) t.same(errorOf(replyOf(meta), 404), errorOf(replyOf(content), 404), 'the same 404 either way');
    }
  }

  const missing = errorOf(await call(app, 'GET', '/api/files/00000000-0000-4000-8000-000000000000', admin), 404);
  t.same(missing, { statusCode: 404, error: 'Not Found', code: 'NOT_FOUND', message: 'File not found' });
  const privateMiss = errorOf(await call(app, 'GET', `/api/files/${privateFile.id}`, student), 404);
  t.same(privateMiss, missing, 'a private file looks exactly like a missing one');
  t.equal((await app.inject({ method: 'GET', url: '/api/files/not-a-uuid' })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: `/api/files/${publicFile.id}`, headers: { authorization: 'Bearer nope' } })).statusCode, 401);
});

// --- content ---

await t.test('content is served with its type, nosniff and the right disposition', async (t) => {
  const png = await uploadOk(instructor, { filename: 'Résumé photo.png', data: PNG });
  const image = await app.inject({ method: 'GET', url: `/api/files/${png.id}/content`, headers: instructor.headers });
  t.equal(image.statusCode, 200);
  t.equal(image.headers['content-type'], 'image/png');
  t.equal(image.headers['x-content-type-options'], 'nosniff');
  t.equal(image.headers['content-disposition'], `inline; filename="R_sum_ photo.png"; filename*=UTF-8''R%C3%A9sum%C3%A9%20photo.png`);
  t.equal(image.headers['accept-ranges'], 'bytes');
  t.equal(image.headers['content-length'], String(PNG.length));
  t.equal(image.headers['cache-control'], 'private, no-store');
  t.same(image.rawPayload, PNG);
  const headOnly = await app.inject({ method: 'HEAD', url: `/api/files/${png.id}/content`, headers: instructor.headers });
  t.equal(headOnly.statusCode, 200, 'HEAD');
  t.equal(headOnly.headers['content-length'], String(PNG.length));
  t.equal(headOnly.body, '');

  const pdf = await uploadOk(instructor, { filename: 'notes.pdf', data: PDF });
  const document = await app.inject({ method: 'GET', url: `/api/files/${pdf.id}/content`, headers: instructor.headers });
  t.equal(document.headers['content-type'], 'application/pdf');
  t.equal(document.headers['content-disposition'], `attachment; filename="notes.pdf"; filename*=UTF-8''notes.pdf`);
  t.same(document.rawPayload, PDF);

  const txt = await uploadOk(instructor, { filename: 'a.txt', data: 'plain words' });
  const text = await app.inject({ method: 'GET', url: `/api/files/${txt.id}/content`, headers: instructor.headers });
  t.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
  t.match(text.headers['content-disposition'], /^attachment;/);
  t.equal(text.body, 'plain words');
});

await t.test('range requests get 206 with the right bytes; past the end is 416', async (t) => {
  const mp4 = await uploadOk(instructor, { filename: 'clip.mp4', data: MP4 });
  const get = (range: string) => app.inject({ method: 'GET', url: `/api/files/${mp4.id}/content`, headers: { ...instructor.headers, range } });

  const head = await get('bytes=0-7');
  t.equal(head.statusCode, 206);
  t.equal(head.headers['content-range'], `bytes 0-7/${MP4.length}`);
  t.equal(head.headers['content-length'], '8');
  t.equal(head.headers['content-type'], 'video/mp4');
  t.same(head.rawPayload, MP4.subarray(0, 8));

  const middle = await get('bytes=40-49');
  t.same(middle.rawPayload, MP4.subarray(40, 50));
  const tail = await get('bytes=-4');
  t.equal(tail.headers['content-range'], `bytes ${MP4.length - 4}-${MP4.length - 1}/${MP4.length}`);
  t.same(tail.rawPayload, MP4.subarray(-4));
  const open = await get('bytes=90-');
  t.same(open.rawPayload, MP4.subarray(90));

  const past = await get(`bytes=${MP4.length}-`);
  t.equal(past.statusCode, 416);
  t.equal(past.headers['content-range'], `bytes */${MP4.length}`);
  t.same(errorOf(replyOf(past), 416), {
    statusCode: 416,
    error: 'Range Not Satisfiable',
    code: 'VALIDATION_ERROR',
    message: `The file has ${MP4.length} bytes`,
  });

  const several = await get('bytes=0-1,4-5');
  t.equal(several.statusCode, 200, 'several ranges: the whole file');
  t.same(several.rawPayload, MP4);
});

// --- signed URLs ---

await t.test('a signed URL works without a Bearer header until it expires', async (t) => {
  const course = await createCourse(instructor.id, 'video-course');
  const enrolled = await createUser(app, 'student');
  await enroll(enrolled.id, course, 'active');
  const video = await uploadOk(instructor, { filename: 'lecture.mp4', data: MP4 }, { courseId: course });

  const before = Date.now();
  const { url, expiresAt } = bodyOf(await call(app, 'GET', `/api/files/${video.id}/url`, enrolled), 200, SignedUrl);
  t.ok(url.startsWith(`${config.publicUrl}/api/files/${video.id}/content?expires=`));
  const expiresIn = Date.parse(expiresAt) - before;
  t.ok(expiresIn > 290_000 && expiresIn <= 301_000, 'about FILE_URL_TTL_SECONDS');

  const path = url.slice(config.publicUrl.length);
  const anonymous = await app.inject({ method: 'GET', url: path });
  t.equal(anonymous.statusCode, 200);
  t.same(anonymous.rawPayload, MP4);
  t.equal(anonymous.headers['cross-origin-resource-policy'], 'cross-origin', 'embeddable in the client app');
  const ranged = await app.inject({ method: 'GET', url: path, headers: { range: 'bytes=0-3' } });
  t.equal(ranged.statusCode, 206);
  t.same(ranged.rawPayload, MP4.subarray(0, 4));
  const staleHeader = await app.inject({ method: 'GET', url: path, headers: { authorization: 'Bearer expired.token.here' } });
  t.equal(staleHeader.statusCode, 200, 'a stale Authorization header does not spoil it');

  const params = new URL(url).searchParams;
  const expires = Number(params.get('expires'));
  const signature = params.get('signature')!;
  const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
  const key = deriveFileUrlKey(config.jwtSecret);
  const expired = Math.floor(Date.now() / 1000) - 1;
  const other = await uploadOk(instructor, { filename: 'other.mp4', data: MP4 });
  const forbiddenCases: Array<[string, string]> = [
    ['tampered signature', `/api/files/${video.id}/content?expires=${expires}&signature=${flipped}`],
    ['extended expiry', `/api/files/${video.id}/content?expires=${expires + 3600}&signature=${signature}`],
    ['another file', `/api/files/${other.id}/content?expires=${expires}&signature=${signature}`],
    ['garbage signature', `/api/files/${video.id}/content?expires=${expires}&signature=abc`],
    ['expired', `/api/files/${video.id}/content?expires=${expired}&signature=${signFileUrl(key, video.id, expired)}`],
  ];
  for (const [label, target] of forbiddenCases) {
    const refused = await call(app, 'GET', target);
    t.equal(refused.status, 403, label);
    t.equal(errorOf(refused, 403).code, 'FORBIDDEN', label);
  }
  const expiredBody = errorOf(await call(app, 'GET', forbiddenCases[4]![1]), 403);
  t.equal(expiredBody.message, 'This link has expired');

  t.equal((await app.inject({ method: 'GET', url: `/api/files/${video.id}/content?signature=${signature}` })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: `/api/files/${video.id}/content?expires=${expires}` })).statusCode, 400);
  t.equal((await app.inject({ method: 'GET', url: `/api/files/${video.id}/content?expires=soon&signature=x` })).statusCode, 400);
});

// --- delete ---

await t.test('DELETE: uploader and admin; removes the bytes too', async (t) => {
  const course = await createCourse(instructor.id, 'delete-course');
  const enrolled = await createUser(app, 'student');
  await enroll(enrolled.id, course, 'active');
  const file = await uploadOk(instructor, { filename: 'gone.pdf', data: PDF }, { courseId: course });
  const onDiskPath = join(root, await storagePathOf(file.id));
  t.ok(await exists(onDiskPath));

  const del = (user: TestUser | null, id = file.id) => app.inject({ method: 'DELETE', url: `/api/files/${id}`, headers: user?.headers ?? {} });
  t.equal((await del(null)).statusCode, 401);
  t.equal((await del(otherInstructor)).statusCode, 404, 'cannot see it: 404');
  const reader = await del(enrolled);
  t.equal(reader.statusCode, 403, 'can see it, cannot delete it: 403');
  t.equal(errorOf(replyOf(reader), 403).code, 'FORBIDDEN');

  const deleted = await del(instructor);
  t.equal(deleted.statusCode, 204);
  t.equal(deleted.body, '');
  t.notOk(await exists(onDiskPath), 'the bytes are gone');
  t.equal((await app.inject({ method: 'GET', url: `/api/files/${file.id}`, headers: instructor.headers })).statusCode, 404);
  t.equal((await del(instructor)).statusCode, 404, 'deleting twice');

  const byAdmin = await uploadOk(instructor, { filename: 'admin-deletes.png', data: PNG }, { isPublic: 'true' });
  const adminPath = join(root, await storagePathOf(byAdmin.id));
  t.equal((await del(student, byAdmin.id)).statusCode, 403, 'public, so visible, but not theirs');
  t.equal((await del(admin, byAdmin.id)).statusCode, 204);
  t.notOk(await exists(adminPath));
});

await t.test('missing bytes are a 404, not a 500', async (t) => {
  const file = await uploadOk(instructor, { filename: 'lost.png', data: PNG });
  await rm(join(root, await storagePathOf(file.id)));
  const response = await app.inject({ method: 'GET', url: `/api/files/${file.id}/content`, headers: instructor.headers });
  t.equal(errorOf(replyOf(response), 404).message, 'File content not found');
});

await t.test('the file routes are documented in /docs/json', async (t) => {
  const spec = bodyOf(await call(app, 'GET', '/docs/json'), 200, OpenApiDocument);
  const expected: Array<[string, string]> = [
    ['/api/files', 'post'],
    ['/api/files/{id}', 'get'],
    ['/api/files/{id}', 'delete'],
    ['/api/files/{id}/content', 'get'],
    ['/api/files/{id}/url', 'get'],
  ];
  for (const [path, method] of expected) t.same(spec.paths[path]?.[method]?.tags, ['files'], `${method} ${path}`);
  const form = spec.paths['/api/files']!.post!.requestBody!.content['multipart/form-data'];
  t.ok(form, 'the upload is documented as multipart/form-data');
  t.same(Object.keys(form!.schema!.properties!).sort(), ['courseId', 'file', 'folder', 'isPublic']);
});
