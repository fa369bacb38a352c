import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { JSON_LIMITS_KEYWORD, jsonLimitError, PAYLOAD_JSON_LIMITS, type JsonLimits } from './json-limits.js';

// ajv-formats is CommonJS with a default export; under ESM it arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const common: Options = {
  // Unknown fields are refused, never silently dropped: schemas say `additionalProperties: false`.
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  strict: false,
};

/**
 * Teaches `ajv` the `x-json-limits` keyword (`JsonLimits`: depth and size of a free-form field),
 * for HTTP and realtime validators alike. The `x-` prefix keeps it a valid OpenAPI extension.
 */
export function addJsonLimitsKeyword(ajv: Ajv): Ajv {
  const validate = (limits: JsonLimits, data: unknown): boolean => {
    const problem = jsonLimitError(data, limits);
    validate.errors = problem ? [{ keyword: JSON_LIMITS_KEYWORD, message: problem, params: { ...limits } }] : undefined;
    return problem === null;
  };
  validate.errors = undefined as Array<Partial<ErrorObject>> | undefined;
  ajv.addKeyword({ keyword: JSON_LIMITS_KEYWORD, schemaType: 'object', errors: true, validate });
  return ajv;
}

/**
 * Wraps a compiled validator with the check every payload gets before its schema: nesting within
 * `PAYLOAD_JSON_LIMITS`, checked without recursion. Ajv itself would pass a deep value where the
 * schema allows anything, and it would break the first `JSON.stringify` after validation.
 */
export function withPayloadLimits<F extends ((data: unknown) => unknown) & { errors?: unknown }>(validate: F): F {
  const wrapped = ((data: unknown) => {
    const problem = jsonLimitError(data, PAYLOAD_JSON_LIMITS);
    if (problem) {
      wrapped.errors = [{ instancePath: '', schemaPath: '#', keyword: JSON_LIMITS_KEYWORD, params: { ...PAYLOAD_JSON_LIMITS }, message: problem }];
      return false;
    }
    const valid = validate(data);
    wrapped.errors = validate.errors;
    return valid;
  }) as F;
  return wrapped;
}

// JSON bodies are typed already: no coercion, so `"true"` stays a string and is refused where a
// boolean is expected. Query strings and path params are text and need it.
const bodyAjv = addJsonLimitsKeyword(addFormats(new Ajv({ ...common, coerceTypes: false })));
const textAjv = addJsonLimitsKeyword(addFormats(new Ajv({ ...common, coerceTypes: 'array' })));

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? withPayloadLimits(bodyAjv.compile(schema)) : textAjv.compile(schema)) as ReturnType<FastifySchemaCompiler<object>>;
