import t from '../../helpers/tap.js';
import { categoryOf, isInlineMedia, judgeContent, looksLikeMarkup, type ContentSample } from '../../../server/modules/files/content-policy.js';

const ALLOWED = ['image/png', 'application/pdf', 'video/mp4', 'text/plain'];

function text(content: string, overrides: Partial<ContentSample> = {}): ContentSample {
  return { detected: undefined, validUtf8: true, containsNul: false, head: Buffer.from(content), ...overrides };
}

t.test('a detected type is accepted when allowed, with its extension and category', async (t) => {
  t.same(judgeContent(text('', { detected: { mime: 'image/png', ext: 'png' } }), ALLOWED), {
    accepted: true,
    mime: 'image/png',
    extension: 'png',
    category: 'image',
  });
  const refused = judgeContent(text('', { detected: { mime: 'application/x-msdownload', ext: 'exe' } }), ALLOWED);
  t.same(refused, { accepted: false, reason: 'Files of type application/x-msdownload are not accepted' });
  t.notOk(judgeContent(text('', { detected: { mime: 'application/xml', ext: 'xml' } }), ALLOWED).accepted);
});

t.test('text without a magic number is text/plain only when it is clean UTF-8 and no markup', async (t) => {
  t.same(judgeContent(text('Notes for week 1: a < b, b > c.\nçà ✓'), ALLOWED), {
    accepted: true,
    mime: 'text/plain',
    extension: 'txt',
    category: 'text',
  });
  t.notOk(judgeContent(text('abc', { validUtf8: false }), ALLOWED).accepted, 'invalid UTF-8');
  t.notOk(judgeContent(text('abc', { containsNul: true }), ALLOWED).accepted, 'NUL bytes');
  t.notOk(judgeContent(text('plain'), ['image/png']).accepted, 'text/plain not allowed');
  const markups = [
    '<!DOCTYPE html><p>hi',
    '\uFEFF<html>',
    '   <  svg xmlns="http://www.w3.org/2000/svg">',
    'hello\n<script>alert(1)</script>',
    '<?xml version="1.0"?><x/>',
    '<BODY onload=alert(1)>',
    '<iframe src=x>',
    '<!-- comment --><p>',
  ];
  for (const content of markups) {
    t.same(judgeContent(text(content), ALLOWED), { accepted: false, reason: 'HTML, SVG and XML files are not accepted' }, content);
  }
});

t.test('markup sniffing, categories and inline media', async (t) => {
  t.ok(looksLikeMarkup('x <Svg>'));
  t.notOk(looksLikeMarkup('if (a < b) return html;'));
  t.equal(categoryOf('image/webp'), 'image');
  t.equal(categoryOf('video/webm'), 'video');
  t.equal(categoryOf('audio/ogg'), 'audio');
  t.equal(categoryOf('application/pdf'), 'document');
  t.equal(categoryOf('text/plain'), 'text');
  t.equal(categoryOf('application/zip'), 'archive');
  t.equal(categoryOf('application/octet-stream'), 'other');
  t.ok(isInlineMedia('image/png'));
  t.ok(isInlineMedia('video/mp4'));
  t.ok(isInlineMedia('audio/mpeg'));
  t.notOk(isInlineMedia('image/svg+xml'));
  t.notOk(isInlineMedia('application/pdf'));
  t.notOk(isInlineMedia('text/plain'));
});
