import { randomBytes } from 'node:crypto';

export interface FilePart {
  /** Form field name; `file` for `POST /api/files`. */
  name?: string;
  filename: string;
  /** What the client claims; the server must not believe it. */
  contentType?: string;
  data: Buffer | string;
}

export interface MultipartBody {
  payload: Buffer;
  headers: { 'content-type': string };
}

/**
 * A multipart/form-data body built by hand (RFC 7578) for `app.inject`: text fields first, in
 * order, then the files.
 */
export function multipartBody(fields: Array<[string, string]> | Record<string, string>, files: FilePart[] = []): MultipartBody {
  const boundary = `----classroom-test-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  const entries = Array.isArray(fields) ? fields : Object.entries(fields);
  for (const [name, value] of entries) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const file of files) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.name ?? 'file'}"; filename="${file.filename}"\r\n` +
          `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.isBuffer(file.data) ? file.data : Buffer.from(file.data),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}
