import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived links to a file's content that work without an Authorization header (for
 * `<video src>`, `<img src>` and plain links): `?expires=<unix seconds>&signature=<base64url>`,
 * the signature being HMAC-SHA256 over the file id and the expiry.
 */

/**
 * The signing key, derived from the JWT secret (HKDF-SHA256 with a purpose label), so one
 * secret can be configured without a signature for one use ever being valid for another.
 */
export function deriveFileUrlKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'classroom', 'file-url-signature:v1', 32));
}

function mac(key: Buffer, fileId: string, expires: number): Buffer {
  return createHmac('sha256', key).update(`file:${fileId.toLowerCase()}:${expires}`).digest();
}

/** The `signature` for `fileId` until `expires` (unix seconds). */
export function signFileUrl(key: Buffer, fileId: string, expires: number): string {
  return mac(key, fileId, expires).toString('base64url');
}

export type SignatureCheck = 'valid' | 'expired' | 'invalid';

/** Checks a signature in constant time; an expired link is reported as such even when genuine. */
export function verifyFileUrl(key: Buffer, fileId: string, expires: number, signature: string, nowSeconds: number): SignatureCheck {
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(key, fileId, expires);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return expires > nowSeconds ? 'valid' : 'expired';
}
