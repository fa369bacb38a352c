import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Course, Enrollment, UploadedFile, type IUploadedFile, type StorageProvider } from '../../../entities/index.js';
import { forbidden, notFound } from '../../platform/errors.js';
import { isManagerOf } from '../courses/courses.access.js';
import type { AuthUser } from '../../plugins/auth.js';
import { iso } from '../../platform/schemas.js';
import type { FileJson } from './files.schemas.js';

/** Enrollment statuses that open a course's files (as its content). */
const READING_STATUSES = ['active', 'completed'] as const;

export async function findFile(em: EntityManager, id: string): Promise<IUploadedFile | null> {
  return em.findOne(UploadedFile, { id }, { populate: ['course'] });
}

/**
 * Who may read a file: anyone when it is public; else its uploader and admins; for a course's
 * file also the course's managers (`isManagerOf`) and its active or completed enrollees.
 */
export async function canRead(em: EntityManager, file: IUploadedFile, auth: AuthUser | null): Promise<boolean> {
  if (file.isPublic) return true;
  if (!auth) return false;
  if (auth.role === 'admin' || file.uploader.id === auth.id) return true;
  if (!file.course) return false;
  const course = await file.course.load();
  if (!course) return false;
  if (isManagerOf(auth, course.instructor.id)) return true;
  const enrolled = await em.count(Enrollment, { student: auth.id, course: course.id, status: { $in: [...READING_STATUSES] } });
  return enrolled > 0;
}

export function canDelete(file: IUploadedFile, auth: AuthUser): boolean {
  return auth.role === 'admin' || file.uploader.id === auth.id;
}

/** The file when `auth` may read it; 404 otherwise, so private files do not reveal that they exist. */
export async function readableFile(em: EntityManager, id: string, auth: AuthUser | null): Promise<IUploadedFile> {
  const file = await findFile(em, id);
  if (!file || !(await canRead(em, file, auth))) throw notFound('File');
  return file;
}

/** The course an upload is attached to: one the caller owns, or any for admins. */
export async function courseForUpload(em: EntityManager, courseId: string, auth: AuthUser): Promise<void> {
  const course = await em.findOne(Course, { id: courseId });
  if (!course) throw notFound('Course');
  if (!isManagerOf(auth, course.instructor.id)) throw forbidden('You can only attach files to your own courses');
}

export interface NewFile {
  storageProvider: StorageProvider;
  storagePath: string;
  originalFilename: string;
  mimeType: string;
  category: string;
  size: number;
  folder: string | null;
  isPublic: boolean;
  courseId: string | null;
  uploaderId: string;
}

export async function insertFile(em: EntityManager, data: NewFile): Promise<IUploadedFile> {
  const id = randomUUID();
  const file = em.create(UploadedFile, {
    id,
    uploader: data.uploaderId,
    filename: data.storagePath.split('/').pop()!,
    originalFilename: data.originalFilename,
    fileUrl: `/api/files/${id}/content`,
    storagePath: data.storagePath,
    fileType: data.category,
    mimeType: data.mimeType,
    fileSize: data.size,
    folder: data.folder,
    storageProvider: data.storageProvider,
    isPublic: data.isPublic,
    course: data.courseId,
  });
  await em.flush();
  return file;
}

export function toFileJson(file: IUploadedFile): FileJson {
  return {
    id: file.id,
    filename: file.filename,
    originalFilename: file.originalFilename,
    url: file.fileUrl,
    mimeType: file.mimeType ?? null,
    fileSize: file.fileSize ?? null,
    folder: file.folder ?? null,
    isPublic: file.isPublic,
    courseId: file.course?.id ?? null,
    uploaderId: file.uploader.id,
    createdAt: iso(file.createdAt)!,
  };
}
