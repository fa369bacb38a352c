import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Links that work without an Authorization header (for `<video src>`, `<img src>`, a link in a
 * toast clicked hours later): `?expires=<unix seconds>&signature=<base64url>`, the signature
 * being HMAC-SHA256 over what the link opens (`file:<id>`, `certificate:<number>`) and the expiry.
 */

/** What a signing key is for; each purpose has its own key, so no signature is valid for another. */
export type UrlPurpose = 'file' | 'certificate';

const keys = new Map<string, Buffer>();

/**
 * The signing key of `purpose`, derived from the JWT secret (HKDF-SHA256 with a purpose label),
 * so one secret can be configured without a signature for one use ever being valid for another.
 */
export function deriveUrlKey(secret: string, purpose: UrlPurpose): Buffer {
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secret, 'classroom', `${purpose}-url-signature:v1`, 32));
    keys.set(cacheKey, key);
  }
  return key;
}

function mac(key: Buffer, resource: string, expires: number): Buffer {
  return createHmac('sha256', key).update(`${resource}:${expires}`).digest();
}

/** The `signature` for `resource` until `expires` (unix seconds). */
export function signUrl(key: Buffer, resource: string, expires: number): string {
  return mac(key, resource, expires).toString('base64url');
}

export type SignatureCheck = 'valid' | 'expired' | 'invalid';

/** Checks a signature in constant time; an expired link is reported as such even when genuine. */
export function verifyUrl(key: Buffer, resource: string, expires: number, signature: string, nowSeconds: number): SignatureCheck {
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(key, resource, expires);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return expires > nowSeconds ? 'valid' : 'expired';
}

/** The file-content key (`GET /files/:id/url`). */
export const deriveFileUrlKey = (secret: string): Buffer => deriveUrlKey(secret, 'file');
export const signFileUrl = (key: Buffer, fileId: string, expires: number): string => signUrl(key, `file:${fileId.toLowerCase()}`, expires);
export const verifyFileUrl = (key: Buffer, fileId: string, expires: number, signature: string, nowSeconds: number): SignatureCheck =>
  verifyUrl(key, `file:${fileId.toLowerCase()}`, expires, signature, nowSeconds);
