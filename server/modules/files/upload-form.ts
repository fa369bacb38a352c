import { createWriteStream } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileTypeFromFile } from 'file-type';
import { AppError, validationError } from '../../platform/errors.js';
import { normaliseFolder } from '../../platform/storage/storage.js';
import type { Storage } from '../../platform/storage/storage.js';
import type { ContentSample } from './content-policy.js';
import { sanitiseOriginalFilename } from './filenames.js';

/** Bytes of the head kept for markup sniffing. */
const HEAD_BYTES = 8 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Busboy limits beside the file size: one file, a handful of short fields. */
export const MULTIPART_LIMITS = {
  files: 1,
  fields: 10,
  parts: 12,
  fieldNameSize: 100,
  fieldSize: 1024,
  headerPairs: 20,
};

export interface UploadFields {
  folder: string | null;
  isPublic: boolean;
  courseId: string | null;
}

/** A spooled upload: bytes in a temporary file, and what they look like. */
export interface SpooledUpload {
  tempPath: string;
  originalFilename: string;
  size: number;
  sample: ContentSample;
}

/**
 * One part of a multipart form as the parser yields it (the shape of `@fastify/multipart`'s
 * parts, named here so that reading a form needs no HTTP framework): a file with its stream, or a
 * field with its value.
 */
export type FormPart =
  | { type: 'file'; fieldname: string; filename: string; file: Readable & { truncated?: boolean } }
  | { type: 'field'; fieldname: string; value: unknown; valueTruncated: boolean; fieldnameTruncated: boolean };

export interface UploadForm {
  fields: UploadFields;
  upload: SpooledUpload;
}

/**
 * Counts bytes (refusing past `maxBytes`), keeps the head, and checks on the way whether the
 * content could be text (valid UTF-8, no NUL), so the spool is read only once.
 */
class Inspector extends Transform {
  size = 0;
  validUtf8 = true;
  containsNul = false;
  #head: Buffer[] = [];
  #headBytes = 0;
  #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(private readonly maxBytes: number) {
    super();
  }

  get head(): Buffer {
    return Buffer.concat(this.#head);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      callback(new AppError('PAYLOAD_TOO_LARGE', `The file is larger than ${this.maxBytes} bytes`));
      return;
    }
    if (this.#headBytes < HEAD_BYTES) {
      const part = chunk.subarray(0, HEAD_BYTES - this.#headBytes);
      this.#head.push(part);
      this.#headBytes += part.length;
    }
    // Once the content cannot be text there is nothing more to learn from decoding it.
    if (this.validUtf8 && !this.containsNul) {
      if (chunk.includes(0)) this.containsNul = true;
      else this.#decode(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.validUtf8 && !this.containsNul) this.#decode();
    callback();
  }

  #decode(chunk?: Buffer) {
    try {
      if (chunk) this.#decoder.decode(chunk, { stream: true });
      else this.#decoder.decode();
    } catch {
      this.validUtf8 = false;
    }
  }
}

/** Maps what the multipart parser throws to our errors; parser failures are the client's. */
function multipartError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  // Our own I/O failing (disk full, permissions) is a server error, not a malformed request.
  if (typeof (error as NodeJS.ErrnoException).syscall === 'string') return error;
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'The file is too large');
    case 'FST_FILES_LIMIT':
      return validationError('Send exactly one file, in the "file" field');
    case 'FST_FIELDS_LIMIT':
    case 'FST_PARTS_LIMIT':
      return validationError('Too many form fields');
    case 'FST_PROTO_VIOLATION':
      return validationError('Invalid form field name');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data');
    default:
      return validationError(`Malformed multipart body: ${(error as Error)?.message ?? 'unreadable'}`);
  }
}

function parseField(fields: Partial<UploadFields>, name: string, value: string): void {
  // Own properties only: `toString in {}` is true.
  if (Object.hasOwn(fields, name)) throw validationError(`The "${name}" field is given twice`);
  switch (name) {
    case 'folder': {
      const folder = normaliseFolder(value);
      if (folder === undefined) {
        throw validationError('folder may only hold a-z, 0-9, "-", "_" and "/" between names, at most 255 characters');
      }
      fields.folder = folder;
      return;
    }
    case 'isPublic':
      if (value !== 'true' && value !== 'false') throw validationError('isPublic must be "true" or "false"');
      fields.isPublic = value === 'true';
      return;
    case 'courseId':
      if (!UUID.test(value)) throw validationError('courseId must be a UUID');
      fields.courseId = value.toLowerCase();
      return;
    default:
      throw validationError(`Unknown form field "${name}"`);
  }
}

async function spool(file: Readable, storage: Storage, maxBytes: number): Promise<Omit<SpooledUpload, 'originalFilename'>> {
  const tempPath = await storage.createTempPath();
  const inspector = new Inspector(maxBytes);
  try {
    await pipeline(file, inspector, createWriteStream(tempPath, { flags: 'wx' }));
    if ((file as Readable & { truncated?: boolean }).truncated) {
      throw new AppError('PAYLOAD_TOO_LARGE', `The file is larger than ${maxBytes} bytes`);
    }
    const detected = inspector.size > 0 ? await fileTypeFromFile(tempPath) : undefined;
    return {
      tempPath,
      size: inspector.size,
      sample: { detected, validUtf8: inspector.validUtf8, containsNul: inspector.containsNul, head: inspector.head },
    };
  } catch (error) {
    await storage.discardTemp(tempPath);
    throw error;
  }
}

/**
 * Reads the multipart form of `POST /files` from its parts (the parser's limits are
 * `MULTIPART_LIMITS` and a `fileSize` of `maxBytes + 1`): the fields (validated as they arrive,
 * unknown ones refused) and the one `file`, spooled to a temporary file of `storage` while
 * counting its bytes. The parser's errors become ours (400, 413, 415). On any failure nothing is
 * left on disk. The caller owns `upload.tempPath` afterwards.
 */
export async function readUploadForm(parts: AsyncIterable<FormPart>, storage: Storage, maxBytes: number): Promise<UploadForm> {
  const fields: Partial<UploadFields> = {};
  let upload: SpooledUpload | undefined;
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== 'file') {
          part.file.resume();
          throw validationError(`Unknown form field "${part.fieldname}"; the file goes in "file"`);
        }
        const spooled = await spool(part.file, storage, maxBytes);
        upload = { ...spooled, originalFilename: sanitiseOriginalFilename(part.filename) };
      } else {
        if (part.valueTruncated || part.fieldnameTruncated) throw validationError(`The "${part.fieldname}" field is too long`);
        parseField(fields, part.fieldname, String(part.value));
      }
    }
  } catch (error) {
    if (upload) await storage.discardTemp(upload.tempPath);
    throw multipartError(error);
  }
  if (!upload) throw validationError('The form has no "file"');
  if (upload.size === 0) {
    await storage.discardTemp(upload.tempPath);
    throw validationError('The file is empty');
  }
  return {
    fields: { folder: fields.folder ?? null, isPublic: fields.isPublic ?? false, courseId: fields.courseId ?? null },
    upload,
  };
}
