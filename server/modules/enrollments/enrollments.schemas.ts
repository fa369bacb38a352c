import { Type, type Static } from 'typebox';
import { PaginationQuery } from '../../platform/schemas.js';
import { EnrollmentStatus, Nullable } from '../learning.schemas.js';

export const EnrollmentListQuery = Type.Object({ status: Type.Optional(EnrollmentStatus), ...PaginationQuery }, { additionalProperties: false });
export const EnrollmentProgressQuery = Type.Object({ ...PaginationQuery }, { additionalProperties: false });
export type EnrollmentProgressQuery = Static<typeof EnrollmentProgressQuery>;

export const EnrollmentPatchBody = Type.Object(
  {
    status: Type.Optional(Type.Literal('dropped', { description: 'Drop the course (re-enrolling reactivates it)' })),
    rating: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 5 }))),
    review: Type.Optional(Nullable(Type.String({ maxLength: 5000 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);
