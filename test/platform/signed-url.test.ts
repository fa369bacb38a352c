import t from '../helpers/tap.js';
import { deriveFileUrlKey, deriveUrlKey, signFileUrl, signUrl, verifyFileUrl, verifyUrl } from '../../server/platform/signed-url.js';

const key = deriveFileUrlKey('x'.repeat(40));
const id = '0b7f6c1e-4a8d-4f4e-9c1a-2d3e4f5a6b7c';
const now = 1_800_000_000;

t.test('a genuine signature is valid until it expires', async (t) => {
  const signature = signFileUrl(key, id, now + 300);
  t.match(signature, /^[A-Za-z0-9_-]{43}$/);
  t.equal(verifyFileUrl(key, id, now + 300, signature, now), 'valid');
  t.equal(verifyFileUrl(key, id.toUpperCase(), now + 300, signature, now), 'valid', 'ids compare case-insensitively');
  t.equal(verifyFileUrl(key, id, now + 300, signature, now + 300), 'expired');
});

t.test('any change makes it invalid', async (t) => {
  const signature = signFileUrl(key, id, now + 300);
  t.equal(verifyFileUrl(key, id, now + 301, signature, now), 'invalid', 'another expiry');
  t.equal(verifyFileUrl(key, '1b7f6c1e-4a8d-4f4e-9c1a-2d3e4f5a6b7c', now + 300, signature, now), 'invalid', 'another file');
  t.equal(verifyFileUrl(deriveFileUrlKey('y'.repeat(40)), id, now + 300, signature, now), 'invalid', 'another secret');
  const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
  t.equal(verifyFileUrl(key, id, now + 300, flipped, now), 'invalid', 'one character changed');
  t.equal(verifyFileUrl(key, id, now + 300, signature.slice(0, 20), now), 'invalid', 'truncated');
  t.equal(verifyFileUrl(key, id, now + 300, '', now), 'invalid', 'empty');
});

t.test('the key is derived for this purpose, not the secret itself', async (t) => {
  t.equal(key.length, 32);
  t.not(key.toString('utf8'), 'x'.repeat(40));
  t.same(deriveFileUrlKey('x'.repeat(40)), key, 'deterministic');
});

t.test('each purpose has its own key: a file signature opens no certificate', async (t) => {
  const secret = 'x'.repeat(40);
  const certificateKey = deriveUrlKey(secret, 'certificate');
  t.notSame(certificateKey, deriveUrlKey(secret, 'file'));
  t.same(deriveUrlKey(secret, 'file'), key, 'the file key is the one files always used');
  const signature = signUrl(certificateKey, 'certificate:CERT-2026-AAAA-BBBB-CCCC', now + 60);
  t.equal(verifyUrl(certificateKey, 'certificate:CERT-2026-AAAA-BBBB-CCCC', now + 60, signature, now), 'valid');
  t.equal(verifyUrl(key, 'certificate:CERT-2026-AAAA-BBBB-CCCC', now + 60, signature, now), 'invalid', 'not with the file key');
  t.equal(verifyFileUrl(key, 'CERT-2026-AAAA-BBBB-CCCC', now + 60, signature, now), 'invalid');
});
