import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { addJsonLimitsKeyword, withPayloadLimits } from '../platform/validation.js';
import { clientEvents, type ClientEventName } from './contract.js';

// ajv-formats is CommonJS with a default export; under ESM it arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

// Like HTTP bodies: JSON is typed already, so no coercion; unknown fields are refused.
const ajv = addJsonLimitsKeyword(addFormats(new Ajv({ removeAdditional: false, useDefaults: false, coerceTypes: false, allErrors: false, strict: false })));

/** Each client event's payload schema of the contract, compiled. */
const validators = new Map<string, ValidateFunction>(
  Object.entries(clientEvents).map(([event, { payload }]) => [event, withPayloadLimits(ajv.compile(payload))]),
);

function describe(error: ErrorObject | undefined): string {
  if (!error) return 'Invalid payload';
  const where = error.instancePath ? `data${error.instancePath.replace(/\//g, '.')}` : 'data';
  if (error.keyword === 'additionalProperties')
    return `${where} must not have the field "${(error.params as { additionalProperty: string }).additionalProperty}"`;
  return `${where} ${error.message ?? 'is invalid'}`;
}

/** Null when `data` is a valid payload of `event`, else a message for the ack. */
export function payloadError(event: ClientEventName, data: unknown): string | null {
  const validate = validators.get(event);
  if (!validate) return 'Unknown event';
  return validate(data) ? null : describe(validate.errors?.[0]);
}
