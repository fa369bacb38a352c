import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, uuidPrimaryKey } from './columns.js';
import { Course } from './course.entity.js';
import { STORAGE_PROVIDERS } from './enums.js';
import { User } from './user.entity.js';

export const UploadedFile = defineEntity({
  name: 'UploadedFile',
  tableName: 'uploaded_files',
  properties: {
    id: uuidPrimaryKey(),
    // NO ACTION: files outlive nothing silently; a user with uploads is deactivated, not deleted.
    uploader: () =>
      p.manyToOne(User).ref().deleteRule('no action').foreignKeyName('uploaded_files_uploader_id_foreign').index('uploaded_files_uploader_id_index'),
    filename: p.string().length(500),
    originalFilename: p.string().length(500),
    fileUrl: p.string().length(1000),
    storagePath: p.string().length(1000),
    fileType: p.string().length(100).nullable(),
    mimeType: p.string().length(100).nullable(),
    /** Bytes. */
    fileSize: p.integer().nullable(),
    folder: p.string().length(255).nullable(),
    storageProvider: enumColumn(STORAGE_PROVIDERS)
      .default('local')
      .onCreate(() => 'local' as const),
    isPublic: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    createdAt: createdAt(),
    // Added by Migration20261125010000_files_course (so it is the table's last column). A
    // course's files are readable by its enrollees; SET NULL: a deleted course's files fall back
    // to uploader/admin access (a course with enrollments cannot be deleted anyway).
    course: () =>
      p.manyToOne(Course).ref().nullable().deleteRule('set null').foreignKeyName('uploaded_files_course_id_foreign').index('uploaded_files_course_id_index'),
  },
  checks: [{ name: 'uploaded_files_file_size_check', expression: '(file_size >= 0)' }],
});

export type IUploadedFile = InferEntity<typeof UploadedFile>;
