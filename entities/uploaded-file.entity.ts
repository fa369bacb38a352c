import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, uuidPrimaryKey } from './columns.js';
import { STORAGE_PROVIDERS } from './enums.js';
import { User } from './user.entity.js';

export const UploadedFile = defineEntity({
  name: 'UploadedFile',
  tableName: 'uploaded_files',
  properties: {
    id: uuidPrimaryKey(),
    // NO ACTION: files outlive nothing silently; a user with uploads is deactivated, not deleted.
    uploader: () =>
      p
        .manyToOne(User)
        .ref()
        .deleteRule('no action')
        .foreignKeyName('uploaded_files_uploader_id_foreign')
        .index('uploaded_files_uploader_id_index'),
    filename: p.string().length(500),
    originalFilename: p.string().length(500),
    fileUrl: p.string().length(1000),
    storagePath: p.string().length(1000),
    fileType: p.string().length(100).nullable(),
    mimeType: p.string().length(100).nullable(),
    /** Bytes. */
    fileSize: p.integer().nullable(),
    folder: p.string().length(255).nullable(),
    storageProvider: enumColumn(STORAGE_PROVIDERS).default('local').onCreate(() => 'local' as const),
    isPublic: p.boolean().default(false).onCreate(() => false),
    createdAt: createdAt(),
  },
  checks: [
    { name: 'uploaded_files_file_size_check', expression: '(file_size >= 0)' },
  ],
});

export type IUploadedFile = InferEntity<typeof UploadedFile>;
