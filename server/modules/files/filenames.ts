/** Original file names are data only: shown to people, never used as a path. */

// Control characters are exactly what this strips from names.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
export const ORIGINAL_FILENAME_MAX_LENGTH = 255;

/**
 * The name to keep as `original_filename`: the last path segment (either slash), NFC, without
 * control or bidirectional-override characters, trimmed, at most 255 characters; `upload`
 * when nothing is left.
 */
export function sanitiseOriginalFilename(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const clean = base.normalize('NFC').replace(CONTROL, '').trim();
  const short = Array.from(clean).slice(0, ORIGINAL_FILENAME_MAX_LENGTH).join('').trim();
  return short === '' || short === '.' || short === '..' ? 'upload' : short;
}

/** RFC 8187 `value-chars`: percent-encoded UTF-8, leaving only attr-chars bare. */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A `Content-Disposition` header value (RFC 6266): an ASCII `filename` for old clients and the
 * exact name as `filename*=UTF-8''…`.
 */
export function contentDisposition(type: 'inline' | 'attachment', filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  return `${type}; filename="${ascii}"; filename*=UTF-8''${encodeExtValue(filename)}`;
}
