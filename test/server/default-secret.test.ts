import t from '../helpers/tap.js';
import { createHmac } from 'node:crypto';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';
import { bodyOf, call, errorOf } from '../helpers/http.js';
import { CourseDetailJson, CourseJson } from '../../server/modules/learning.schemas.js';
import { deriveFileUrlKey } from '../../server/platform/signed-url.js';

// The secret that earlier versions committed to the repository and used whenever JWT_SECRET
// was unset outside production. Anyone could read it, so nothing may accept what it signs.
const COMMITTED_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

// NODE_ENV and JWT_SECRET unset (an empty value reads as unset), as after `npm ci && npm start`.
const { app, config } = await buildTestApp(t, 'default-secret', { NODE_ENV: '', JWT_SECRET: '' });

function hs256(payload: object, secret: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

t.test('with NODE_ENV and JWT_SECRET unset, a token signed with the formerly committed secret is refused', async (t) => {
  t.equal(config.nodeEnv, 'development');
  t.not(config.jwtSecret, COMMITTED_SECRET);
  const instructor = await createUser(app, 'instructor');
  const courseId = bodyOf(await call(app, 'POST', '/api/courses', instructor, { title: 'Forgery target', isPublished: true }), 201, CourseJson).id;

  const now = Math.floor(Date.now() / 1000);
  const forged = {
    headers: { authorization: `Bearer ${hs256({ sub: instructor.id, role: 'instructor', typ: 'access', iat: now, exp: now + 600 }, COMMITTED_SECRET)}` },
  };
  // PATCH /api/courses/:id with the forged token.
  errorOf(await call(app, 'PATCH', `/api/courses/${courseId}`, forged, { title: 'Hijacked' }), 401, 'UNAUTHORIZED');
  const roster = await call(app, 'GET', `/api/courses/${courseId}/enrollments`, forged);
  t.equal(roster.status, 401, 'the roster with emails');

  const course = bodyOf(await call(app, 'GET', `/api/courses/${courseId}`), 200, CourseDetailJson);
  t.equal(course.title, 'Forgery target', 'nothing changed');
  // The genuine token of the same user still works: the refusal is about the signature alone.
  t.equal((await call(app, 'PATCH', `/api/courses/${courseId}`, instructor, { title: 'Renamed' })).status, 200);
});

t.test('the file-URL key no longer derives from the committed secret', async (t) => {
  t.not(deriveFileUrlKey(config.jwtSecret).toString('hex'), deriveFileUrlKey(COMMITTED_SECRET).toString('hex'));
});
