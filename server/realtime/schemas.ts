import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Type, type TSchema } from 'typebox';
import { Uuid } from '../platform/schemas.js';
import { LessonProgressBody } from '../modules/progress/progress.schemas.js';
import { AnswerValue } from '../modules/attempts/attempts.schemas.js';
import { addJsonLimitsKeyword, withPayloadLimits } from '../platform/validation.js';
import type { ClientToServerEvents } from './events.js';

// ajv-formats is CommonJS with a default export; under ESM it arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

// Like HTTP bodies: JSON is typed already, so no coercion; unknown fields are refused.
const ajv = addJsonLimitsKeyword(addFormats(new Ajv({ removeAdditional: false, useDefaults: false, coerceTypes: false, allErrors: false, strict: false })));

const strict = { additionalProperties: false } as const;
const CourseRef = Type.Object({ courseId: Uuid }, strict);
const AttemptRef = Type.Object({ attemptId: Uuid }, strict);

/** The payload schema of every client event (docs/realtime.md); the same field rules as the HTTP routes. */
export const clientEventSchemas: Record<keyof ClientToServerEvents, TSchema> = {
  'course:join': CourseRef,
  'course:leave': CourseRef,
  // The HTTP body plus the lesson id, and at least one field besides it.
  'lesson:progress': Type.Object({ lessonId: Uuid, ...LessonProgressBody.properties }, { ...strict, minProperties: 2 }),
  'quiz:answer': Type.Object({ attemptId: Uuid, questionId: Uuid, answer: AnswerValue }, strict),
  'quiz:submit': AttemptRef,
  'quiz:sync': AttemptRef,
  'auth:refresh': Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, strict),
};

const validators = new Map<string, ValidateFunction>(Object.entries(clientEventSchemas).map(([event, schema]) => [event, withPayloadLimits(ajv.compile(schema))]));

function describe(error: ErrorObject | undefined): string {
  if (!error) return 'Invalid payload';
  const where = error.instancePath ? `data${error.instancePath.replace(/\//g, '.')}` : 'data';
  if (error.keyword === 'additionalProperties') return `${where} must not have the field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

/** Null when `data` is a valid payload of `event`, else a message for the ack. */
export function payloadError(event: keyof ClientToServerEvents, data: unknown): string | null {
  const validate = validators.get(event);
  if (!validate) return 'Unknown event';
  return validate(data) ? null : describe(validate.errors?.[0]);
}
