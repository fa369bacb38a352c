import type { Static, TSchema } from 'typebox';
import { UserResponse } from '../../server/modules/users/users.schemas.js';
import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import { QuestionJson, QuizJson } from '../../server/modules/quizzes/quizzes.schemas.js';
import { CourseJson, EnrollmentJson, LessonJson } from '../../server/modules/learning.schemas.js';
import t from '../helpers/tap.js';
import { randomUUID } from 'node:crypto';
import { buildTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { bodyOf, call, errorOf, replyOf, type Reply } from '../helpers/http.js';
import { OpenApiDocument } from '../helpers/openapi.js';

/**
 * Every operation of the OpenAPI document, sent the shapes that used to answer 500: a page (or
 * limit) whose OFFSET overflows, and JSON nested far deeper than any client needs. Each must get
 * a 4xx, never a 5xx, as an admin, as a student and anonymously.
 */
const { app } = await buildTestApp(t, 'badsweep');

const admin = await createUser(app, 'admin');
const instructor = await createUser(app, 'instructor');
const student = await createUser(app, 'student');

async function ok<S extends TSchema>(res: Reply, status: number, schema: S): Promise<Static<S>>;
async function ok(res: Reply, status?: number): Promise<unknown>;
async function ok(res: Reply, status = 200, schema?: TSchema): Promise<unknown> {
  if (schema) return bodyOf(res, status, schema);
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

// Real resources, so that reads reach their handlers with ids that exist.
const course = await ok(await call(app, 'POST', '/api/courses', instructor, { title: 'Sweep course', isPublished: true }), 201, CourseJson);
const lesson = await ok(await call(app, 'POST', `/api/courses/${course.id}/lessons`, instructor, { title: 'Sweep lesson' }), 201, LessonJson);
const quiz = await ok(await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, instructor, { title: 'Sweep quiz' }), 201, QuizJson);
const question = await ok(
  await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, instructor, { questionText: 'True?', questionType: 'true_false', correctAnswer: true }),
  201,
  QuestionJson,
);
await ok(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, instructor, { isPublished: true }), 200, QuizJson);
const enrollment = await ok(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson);
const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);

/** The id a read of `path` gets for `{id}`: the resource its first segment names. */
function realId(path: string): string {
  const kind = path.split('/')[2];
  switch (kind) {
    case 'courses':
      return course.id;
    case 'lessons':
      return lesson.id;
    case 'quizzes':
      return quiz.id;
    case 'questions':
      return question.id;
    case 'attempts':
      return attempt.id;
    case 'enrollments':
      return enrollment.id;
    case 'users':
      return student.id;
    default:
      return randomUUID();
  }
}

/**
 * Path parameters: valid UUIDs, the ids of real resources or fresh ones, and a well-formed
 * certificate number.
 */
function fillPath(path: string, real: boolean): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'number') return 'CERT-2026-0000-0000-0000';
    if (name === 'questionId') return real ? question.id : randomUUID();
    if (name === 'idOrSlug') return course.id;
    return real ? realId(path) : randomUUID();
  });
}

const DEPTH = 8000;
const deepObject = '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH);
const deepArray = '['.repeat(DEPTH) + ']'.repeat(DEPTH);

/** A value `schema` accepts, as small as it allows: the base that one deep field is put into. */
function sample(schema: any): unknown {
  if (!schema) return null;
  if (schema.anyOf) return sample(schema.anyOf.find((option: any) => option.type !== 'null') ?? schema.anyOf[0]);
  if (schema.enum) return schema.enum[0];
  if (schema.const !== undefined) return schema.const;
  switch (schema.type) {
    case 'object': {
      const value: Record<string, unknown> = {};
      for (const name of schema.required ?? []) value[name] = sample(schema.properties?.[name]);
      return value;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string': {
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'email') return `sweep-${randomUUID().slice(0, 8)}@example.com`;
      if (schema.format === 'date-time') return new Date().toISOString();
      const candidates = ['sweep-value-long-enough', 'sweep', 'https://example.com/x', 'x'];
      const fits = (text: string) =>
        (!schema.pattern || new RegExp(schema.pattern).test(text)) && text.length >= (schema.minLength ?? 0) && text.length <= (schema.maxLength ?? Infinity);
      return candidates.find(fits) ?? 'x'.repeat(schema.minLength ?? 1);
    }
    default:
      return null;
  }
}

/**
 * Bodies for an operation: the whole body deeply nested, and a valid body (its required fields
 * filled) with one field at a time (or an item of an array body) deeply nested, so that the deep
 * value gets past everything else the schema checks.
 */
function deepBodies(schema: any): string[] {
  const bodies = [deepObject, deepArray];
  if (!schema) return bodies;
  if (schema.type === 'array') return [...bodies, `[${deepObject}]`, `[${deepArray}]`];
  const base = sample(schema) as Record<string, unknown>;
  for (const name of Object.keys(schema.properties ?? {})) {
    for (const deep of [deepObject, deepArray, `{"a":${deepObject}}`]) {
      const rest = Object.entries(base)
        .filter(([key]) => key !== name)
        .map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)},`)
        .join('');
      bodies.push(`{${rest}${JSON.stringify(name)}:${deep}}`);
    }
  }
  return bodies;
}

const OVERFLOW_QUERIES = ['page=1e21', 'page=999999999999999999', 'limit=1e21&page=2'];

const doc = bodyOf(await call(app, 'GET', '/docs/json'), 200, OpenApiDocument);
const operations: Array<{ method: string; path: string; body: any }> = [];
for (const [path, item] of Object.entries(doc.paths)) {
  for (const [method, operation] of Object.entries(item)) {
    if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
    const body = operation.requestBody?.content?.['application/json']?.schema;
    operations.push({ method, path, body });
  }
}

t.ok(operations.length >= 40, `the document lists ${operations.length} operations`);

const callers: Array<[string, TestUser | null]> = [
  ['admin', admin],
  ['student', student],
  ['anonymous', null],
];

t.test('deep answers and metadata on real resources are refused and change nothing', async (t) => {
  // Writes on real resources, with the deep shapes where the free-form fields are.
  const deepAnswer = await app.inject({
    method: 'PUT',
    url: `/api/attempts/${attempt.id}/answers/${question.id}`,
    headers: { ...student.headers, 'content-type': 'application/json' },
    payload: `{"answer":${deepArray}}`,
  });
  t.equal(deepAnswer.statusCode, 400, 'a deep answer to the running attempt');
  t.equal(errorOf(replyOf(deepAnswer), 400).code, 'VALIDATION_ERROR');
  const deepSubmit = await app.inject({
    method: 'POST',
    url: `/api/attempts/${attempt.id}/submit`,
    headers: { ...student.headers, 'content-type': 'application/json' },
    payload: `{"answers":{${JSON.stringify(question.id)}:${deepArray}}}`,
  });
  t.equal(deepSubmit.statusCode, 400, 'a deep answer in a submit');
  t.equal((await ok(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson)).status, 'in_progress', 'the attempt is untouched');
  const deepMe = await app.inject({
    method: 'PATCH',
    url: '/api/me',
    headers: { ...student.headers, 'content-type': 'application/json' },
    payload: `{"metadata":{"a":${deepObject}}}`,
  });
  t.equal(deepMe.statusCode, 400, 'PATCH /me with deep metadata');
  t.same((await ok(await call(app, 'GET', '/api/me', student), 200, UserResponse)).metadata, {}, 'metadata unchanged');
});

t.test('overflowing page and limit never answer 5xx', async (t) => {
  const failures: string[] = [];
  let probes = 0;
  for (const { method, path } of operations) {
    for (const query of OVERFLOW_QUERIES) {
      for (const [who, as] of callers) {
        // Real ids for reads; fresh ones for writes, which without a body to refuse would act.
        const url = `${fillPath(path, method === 'get')}?${query}`;
        const res = await app.inject({ method: method.toUpperCase() as 'GET', url, headers: as?.headers ?? {} });
        probes++;
        if (res.statusCode >= 500) failures.push(`${method.toUpperCase()} ${path}?${query} as ${who} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
  }
  t.comment(`${probes} probes`);
  t.same(failures, [], 'no 5xx');
});

t.test('deeply nested JSON bodies never answer 5xx', async (t) => {
  const failures: string[] = [];
  let probes = 0;
  for (const { method, path, body } of operations) {
    if (method === 'get' || method === 'delete') continue;
    for (const payload of deepBodies(body)) {
      // Bodies are validated before authentication runs: the anonymous caller adds nothing here.
      for (const [who, as] of callers.slice(0, 2)) {
        const res = await app.inject({
          method: method.toUpperCase() as 'POST',
          url: fillPath(path, true),
          headers: { ...(as?.headers ?? {}), 'content-type': 'application/json' },
          payload,
        });
        probes++;
        if (res.statusCode >= 500)
          failures.push(`${method.toUpperCase()} ${path} ${payload.slice(0, 60)}… as ${who} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
  }
  t.comment(`${probes} probes`);
  t.same(failures, [], 'no 5xx');
});
