import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, optionalTimestamp, uuidPrimaryKey } from './columns.js';
import { Course } from './course.entity.js';
import { Enrollment } from './enrollment.entity.js';
import { User } from './user.entity.js';

export const Certificate = defineEntity({
  name: 'Certificate',
  tableName: 'certificates',
  properties: {
    id: uuidPrimaryKey(),
    // NO ACTION everywhere: a certificate is proof of something earned and must stay
    // verifiable; it is revoked (`isRevoked`), never deleted along with something else.
    // One certificate per enrollment (unique): the last word when two issue jobs race.
    // Nullable as in the seed.
    enrollment: () =>
      p
        .oneToOne(Enrollment)
        .ref()
        .nullable()
        .deleteRule('no action')
        .foreignKeyName('certificates_enrollment_id_foreign')
        .unique('certificates_enrollment_id_unique'),
    student: () => p.manyToOne(User).ref().deleteRule('no action').foreignKeyName('certificates_student_id_foreign').index('certificates_student_id_index'),
    course: () => p.manyToOne(Course).ref().deleteRule('no action').foreignKeyName('certificates_course_id_foreign').index('certificates_course_id_index'),
    certificateNumber: p.string().length(100).unique('certificates_certificate_number_unique'),
    pdfPath: p.string().length(1000).nullable(),
    completionDate: p.datetime().columnType('timestamptz'),
    issuedAt: createdAt(),
    isRevoked: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    revokedAt: optionalTimestamp(),
    // The names as they were at issue: what the certificate states, whatever is renamed later.
    studentName: p.string().length(255),
    courseTitle: p.string().length(500),
    instructorName: p.string().length(255),
  },
});

export type ICertificate = InferEntity<typeof Certificate>;
