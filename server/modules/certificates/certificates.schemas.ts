import { Type, type Static } from 'typebox';
import { NullableTimestamp, PaginationQuery, Timestamp, Uuid } from '../../platform/schemas.js';

export const CertificateNumberParams = Type.Object(
  {
    number: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: '^[A-Za-z0-9-]+$',
      description: 'A certificate number such as `CERT-2026-7K3F-9QXM-2HDP` (case-insensitive; O and I/L read as 0 and 1)',
    }),
  },
  { additionalProperties: false },
);
export type CertificateNumberParams = Static<typeof CertificateNumberParams>;

export const CertificateListQuery = Type.Object({ ...PaginationQuery }, { additionalProperties: false });
export type CertificateListQuery = Static<typeof CertificateListQuery>;

export const CertificateJson = Type.Object({
  id: Uuid,
  certificateNumber: Type.String(),
  enrollmentId: Type.Union([Uuid, Type.Null()]),
  studentId: Uuid,
  studentName: Type.String(),
  course: Type.Object({ id: Uuid, title: Type.String(), instructorName: Type.String() }),
  completionDate: Timestamp,
  issuedAt: Timestamp,
  isRevoked: Type.Boolean(),
  revokedAt: NullableTimestamp,
  pdfUrl: Type.String({
    description: 'A signed link to the PDF that opens without a token until its `expires` (`CERTIFICATE_URL_TTL_SECONDS`, default 7 days)',
  }),
  verificationUrl: Type.String({ description: 'Public' }),
});
export type CertificateJson = Static<typeof CertificateJson>;

export const CertificateVerification = Type.Object({
  valid: Type.Boolean({ description: 'Issued and not revoked' }),
  revoked: Type.Boolean(),
  certificateNumber: Type.String(),
  studentName: Type.String(),
  courseTitle: Type.String(),
  instructorName: Type.String(),
  completionDate: Timestamp,
  issuedAt: Timestamp,
});
export type CertificateVerification = Static<typeof CertificateVerification>;

export const CertificatePdf = Type.String({ format: 'binary', description: 'The certificate, `application/pdf`' });

export const CertificatePdfQuery = Type.Object(
  {
    expires: Type.Optional(Type.Integer({ minimum: 0, description: 'Signed link: expiry in unix seconds.' })),
    signature: Type.Optional(Type.String({ maxLength: 200, description: 'Signed link: the signature of `pdfUrl`.' })),
  },
  { additionalProperties: false },
);
export type CertificatePdfQuery = Static<typeof CertificatePdfQuery>;
