import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Course, UploadedFile, type IUploadedFile } from '../../../entities/index.js';
import { AppError, forbidden, notFound, validationError } from '../../platform/errors.js';
import { iso } from '../../platform/schemas.js';
import { deriveFileUrlKey, signFileUrl, verifyFileUrl } from '../../platform/signed-url.js';
import type { AuthUser } from '../auth/auth-user.js';
import { isEnrolleeOf, isManagerOf } from '../courses/courses.access.js';
import type { ServiceDeps } from '../deps.js';
import { isInlineMedia, judgeContent } from './content-policy.js';
import { contentDisposition } from './filenames.js';
import type { FileJson } from './files.schemas.js';
import { parseRange } from './http-range.js';
import { readUploadForm, type FormPart, type SpooledUpload, type UploadFields } from './upload-form.js';

export type { FormPart } from './upload-form.js';

export async function findFile(deps: Pick<ServiceDeps, 'em'>, id: string): Promise<IUploadedFile | null> {
  return deps.em.findOne(UploadedFile, { id }, { populate: ['course'] });
}

/**
 * Who may read a file: anyone when it is public; else its uploader and admins; for a course's
 * file also the course's managers and its active or completed enrollees (`courses.access`).
 */
export async function canRead(deps: Pick<ServiceDeps, 'em'>, file: IUploadedFile, auth: AuthUser | null): Promise<boolean> {
  if (file.isPublic) return true;
  if (!auth) return false;
  if (auth.role === 'admin' || file.uploader.id === auth.id) return true;
  if (!file.course) return false;
  const course = await file.course.load();
  if (!course) return false;
  if (isManagerOf(auth, course.instructor.id)) return true;
  return isEnrolleeOf(deps.em, course.id, auth.id);
}

export function canDelete(file: IUploadedFile, auth: AuthUser): boolean {
  return auth.role === 'admin' || file.uploader.id === auth.id;
}

/** The file when `auth` may read it; 404 otherwise, so private files do not reveal that they exist. */
export async function readableFile(deps: Pick<ServiceDeps, 'em'>, id: string, auth: AuthUser | null): Promise<IUploadedFile> {
  const file = await findFile(deps, id);
  if (!file || !(await canRead(deps, file, auth))) throw notFound('File');
  return file;
}

/** The course an upload is attached to: one the caller manages (`isManagerOf`), or any for admins. */
async function checkCourseForUpload(deps: Pick<ServiceDeps, 'em'>, courseId: string, auth: AuthUser): Promise<void> {
  const course = await deps.em.findOne(Course, { id: courseId });
  if (!course) throw notFound('Course');
  if (!isManagerOf(auth, course.instructor.id)) throw forbidden('You can only attach files to your own courses');
}

/**
 * `POST /files`: reads the form from its `parts` (spooling the file to a temporary file while
 * counting its bytes, see `readUploadForm`), checks the course, judges the content by its bytes
 * (415 when refused), stores it under a generated key and inserts its row. A refused or failed
 * upload leaves nothing behind: the spool is discarded, and stored bytes whose row could not be
 * inserted are deleted.
 */
export async function uploadFile(deps: Pick<ServiceDeps, 'em' | 'config' | 'storage'>, user: AuthUser, parts: AsyncIterable<FormPart>): Promise<FileJson> {
  const { fields, upload } = await readUploadForm(parts, deps.storage, deps.config.uploadMaxBytes);
  let stored = false;
  try {
    if (fields.courseId) await checkCourseForUpload(deps, fields.courseId, user);
    const verdict = judgeContent(upload.sample, deps.config.uploadAllowedTypes);
    if (!verdict.accepted) throw new AppError('UNSUPPORTED_MEDIA_TYPE', verdict.reason);

    const key = await deps.storage.put({ tempPath: upload.tempPath }, { folder: fields.folder, extension: verdict.extension });
    stored = true;
    try {
      return toFileJson(await insertFile(deps, user, fields, upload, { key, mime: verdict.mime, category: verdict.category }));
    } catch (error) {
      await deps.storage.delete(key);
      throw error;
    }
  } finally {
    if (!stored) await deps.storage.discardTemp(upload.tempPath);
  }
}

async function insertFile(
  deps: Pick<ServiceDeps, 'em' | 'storage'>,
  user: AuthUser,
  fields: UploadFields,
  upload: SpooledUpload,
  stored: { key: string; mime: string; category: string },
): Promise<IUploadedFile> {
  const id = randomUUID();
  const file = deps.em.create(UploadedFile, {
    id,
    uploader: user.id,
    filename: stored.key.split('/').pop()!,
    originalFilename: upload.originalFilename,
    fileUrl: `/api/files/${id}/content`,
    storagePath: stored.key,
    fileType: stored.category,
    mimeType: stored.mime,
    fileSize: upload.size,
    folder: fields.folder,
    storageProvider: deps.storage.provider,
    isPublic: fields.isPublic,
    course: fields.courseId,
  });
  await deps.em.flush();
  return file;
}

/** A signed URL's query (`GET /files/:id/url`). */
export interface SignedQuery {
  expires?: number;
  signature?: string;
}

/**
 * What to answer for a file's bytes: a status, headers and either a stream of the bytes (200 with
 * all of them, 206 with one range) or, for 416, the error body.
 */
export type FileContent =
  | { status: 200 | 206; headers: Record<string, string | number>; stream: Readable }
  | { status: 416; headers: Record<string, string | number>; body: { statusCode: 416; error: string; code: 'VALIDATION_ERROR'; message: string } };

/**
 * `GET /files/:id/content`: the file for whoever may read it, or for a valid signed URL (checked
 * before the file is looked up; 403 when expired or altered). `range` is the request's `Range`
 * header (see `parseRange`): one satisfiable range opens a stream of just that slice (206), one
 * that starts past the end is 416.
 */
export async function openFileContent(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'storage' | 'log' | 'clock'>,
  auth: AuthUser | null,
  id: string,
  signedQuery: SignedQuery,
  range: string | undefined,
): Promise<FileContent> {
  const { expires, signature } = signedQuery;
  let signed = false;
  let file;
  if (expires !== undefined || signature !== undefined) {
    if (expires === undefined || signature === undefined) throw validationError('expires and signature go together');
    const nowSeconds = Math.floor(deps.clock.now().getTime() / 1000);
    const check = verifyFileUrl(deriveFileUrlKey(deps.config.jwtSecret), id, expires, signature, nowSeconds);
    if (check !== 'valid') throw forbidden(check === 'expired' ? 'This link has expired' : 'This link is not valid');
    file = await findFile(deps, id);
    if (!file) throw notFound('File');
    signed = true;
  } else {
    file = await readableFile(deps, id, auth);
  }

  const info = await deps.storage.stat(file.storagePath);
  if (!info) {
    deps.log.error({ fileId: file.id, key: file.storagePath }, 'file content missing from storage');
    throw notFound('File content');
  }
  const mime = file.mimeType ?? 'application/octet-stream';
  const headers: Record<string, string | number> = {
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
    'cache-control': file.isPublic ? 'public, max-age=300' : 'private, no-store',
    'last-modified': file.createdAt.toUTCString(),
  };
  // Public files and signed URLs are meant for <img>/<video> on the client's own origin.
  if (file.isPublic || signed) headers['cross-origin-resource-policy'] = 'cross-origin';

  const answer = parseRange(range, info.size);
  if (answer.kind === 'unsatisfiable') {
    return {
      status: 416,
      headers: { ...headers, 'content-range': `bytes */${info.size}`, 'content-type': 'application/json; charset=utf-8' },
      body: { statusCode: 416, error: 'Range Not Satisfiable', code: 'VALIDATION_ERROR', message: `The file has ${info.size} bytes` },
    };
  }
  headers['content-type'] = mime.startsWith('text/') ? `${mime}; charset=utf-8` : mime;
  headers['content-disposition'] = contentDisposition(isInlineMedia(mime) ? 'inline' : 'attachment', file.originalFilename);
  if (answer.kind === 'partial') {
    const stream = await deps.storage.createReadStream(file.storagePath, answer);
    headers['content-range'] = `bytes ${answer.start}-${answer.end}/${info.size}`;
    headers['content-length'] = answer.end - answer.start + 1;
    return { status: 206, headers, stream };
  }
  headers['content-length'] = info.size;
  return { status: 200, headers, stream: await deps.storage.createReadStream(file.storagePath) };
}

/** `GET /files/:id/url`: a link to the content that works without a token for `fileUrlTtlSeconds`. */
export async function signedFileUrl(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'clock'>,
  auth: AuthUser | null,
  id: string,
): Promise<{ url: string; expiresAt: string }> {
  const file = await readableFile(deps, id, auth);
  const expires = Math.floor(deps.clock.now().getTime() / 1000) + deps.config.fileUrlTtlSeconds;
  const signature = signFileUrl(deriveFileUrlKey(deps.config.jwtSecret), file.id, expires);
  return {
    url: `${deps.config.publicUrl}/api/files/${file.id}/content?expires=${expires}&signature=${signature}`,
    expiresAt: new Date(expires * 1000).toISOString(),
  };
}

/**
 * `DELETE /files/:id`: the uploader and admins (others who may read it: 403; the rest: 404). The
 * row goes first; bytes that cannot be deleted after it are only logged (nothing serves them).
 */
export async function deleteFile(deps: Pick<ServiceDeps, 'em' | 'storage' | 'log'>, user: AuthUser, id: string): Promise<void> {
  const file = await findFile(deps, id);
  if (!file || !(await canRead(deps, file, user))) throw notFound('File');
  if (!canDelete(file, user)) throw forbidden('Only the uploader or an admin can delete this file');
  const key = file.storagePath;
  await deps.em.remove(file).flush();
  try {
    await deps.storage.delete(key);
  } catch (error) {
    // The row is gone, so nothing serves these bytes any more; they are only wasted space.
    deps.log.error({ err: error, key }, 'could not delete the bytes of a deleted file');
  }
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
