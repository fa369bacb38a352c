import { randomBytes } from 'node:crypto';

/** Crockford's base32: no I, L, O, U, so a number read aloud or retyped is not misread. */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Random characters in a number: 12 × 5 = 60 bits, far beyond guessing through the rate-limited verify route. */
const RANDOM_CHARS = 12;

/** `CERT-<year>-XXXX-XXXX-XXXX`. */
export const CERTIFICATE_NUMBER = /^CERT-\d{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

/**
 * A new certificate number, e.g. `CERT-2026-7K3F-9QXM-2HDP`: the completion year, then 60 bits
 * from the CSPRNG in Crockford base32 groups. Each random byte gives one character (its low five
 * bits; 256 is a multiple of 32, so every character is equally likely).
 */
export function newCertificateNumber(completedAt: Date, random: (size: number) => Buffer = randomBytes): string {
  const bytes = random(RANDOM_CHARS);
  let chars = '';
  for (let i = 0; i < RANDOM_CHARS; i++) chars += CROCKFORD[bytes[i] & 31];
  return `CERT-${completedAt.getUTCFullYear()}-${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

/**
 * Canonical form of a number a person typed: upper case, and Crockford's look-alikes read as
 * the digits they resemble (O → 0, I/L → 1). Anything that still is not a number gives null.
 */
export function normaliseCertificateNumber(raw: string): string | null {
  const upper = raw.trim().toUpperCase();
  if (!upper.startsWith('CERT-')) return null;
  const number = `CERT-${upper.slice(5).replace(/O/g, '0').replace(/[IL]/g, '1')}`;
  return CERTIFICATE_NUMBER.test(number) ? number : null;
}
