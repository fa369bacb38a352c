/**
 * Which uploads are accepted, judged from the bytes alone: the client's file name and
 * Content-Type are never consulted.
 */

/** What an upload's bytes say about it, gathered while it was spooled. */
export interface ContentSample {
  /** The type `file-type` recognised from the magic numbers, if any. */
  detected: { mime: string; ext: string } | undefined;
  /** The whole content decodes as UTF-8 without a single invalid sequence. */
  validUtf8: boolean;
  /** The content holds a NUL byte (text never does). */
  containsNul: boolean;
  /** The first bytes (a few KiB), for markup sniffing. */
  head: Buffer;
}

export type FileCategory = 'image' | 'video' | 'audio' | 'document' | 'text' | 'archive' | 'other';

export type ContentVerdict = { accepted: true; mime: string; extension: string; category: FileCategory } | { accepted: false; reason: string };

/**
 * Markup a browser could be talked into rendering (HTML, SVG, XML and friends). Text that
 * starts like this is refused even though it would be served as `text/plain` with `nosniff`.
 */
const MARKUP = /<\s*(?:html|svg|script|!doctype|\?xml|body|iframe|head|object|embed|meta|style|!--|!entity)/i;

export function looksLikeMarkup(text: string): boolean {
  return MARKUP.test(text);
}

export function categoryOf(mime: string): FileCategory {
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  if (mime === 'application/pdf') return 'document';
  if (mime.startsWith('text/')) return 'text';
  if (mime === 'application/zip') return 'archive';
  return 'other';
}

/** Images, video and audio are shown in the page; everything else is downloaded. */
export function isInlineMedia(mime: string): boolean {
  const category = categoryOf(mime);
  return (category === 'image' || category === 'video' || category === 'audio') && !/svg|xml|html/.test(mime);
}

/**
 * The verdict on an upload: the detected type when it is allowed; `text/plain` for content with
 * no magic number that is valid UTF-8 without NULs and does not look like markup; else refused.
 */
export function judgeContent(sample: ContentSample, allowed: readonly string[]): ContentVerdict {
  if (sample.detected) {
    const { mime, ext } = sample.detected;
    if (!allowed.includes(mime)) return { accepted: false, reason: `Files of type ${mime} are not accepted` };
    return { accepted: true, mime, extension: ext, category: categoryOf(mime) };
  }
  if (!sample.validUtf8 || sample.containsNul) {
    return { accepted: false, reason: 'The file type could not be recognised from its content' };
  }
  const text = sample.head.toString('utf8').replace(/^\uFEFF/, '');
  if (looksLikeMarkup(text)) return { accepted: false, reason: 'HTML, SVG and XML files are not accepted' };
  if (!allowed.includes('text/plain')) return { accepted: false, reason: 'Files of type text/plain are not accepted' };
  return { accepted: true, mime: 'text/plain', extension: 'txt', category: 'text' };
}
