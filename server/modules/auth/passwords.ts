import argon2 from 'argon2';
import type { WorkLimiter } from '../../platform/work-limiter.js';

/**
 * argon2id with OWASP's minimum (m=19456 KiB, t=2, p=1). Raising these later is safe: each
 * hash carries its own parameters, and `needsRehash` tells when a stored one is weaker.
 */
export const ARGON2_PARAMS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_PARAMS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    // A malformed stored hash is a failed login, not a server error.
    return false;
  }
}

export function needsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, ARGON2_PARAMS);
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies against a throwaway hash, so that an unknown email costs as much time as a wrong
 * password and response timing does not reveal which emails have accounts.
 */
export async function verifyDummyPassword(password: string): Promise<false> {
  dummyHash ??= hashPassword('dummy-password-for-constant-time');
  await verifyPassword(await dummyHash, password);
  return false;
}

/** The password operations of requests, each through a `WorkLimiter` slot. */
export interface Passwords {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  verifyDummy(password: string): Promise<false>;
  needsRehash(hash: string): boolean;
  /** The same operations ahead of ordinary ones in the queue (`RunOptions.priority`). */
  prioritized(): Passwords;
}

export function limitedPasswords(limiter: WorkLimiter, priority = false): Passwords {
  const options = { priority };
  return {
    hash: (password) => limiter.run(() => hashPassword(password), options),
    verify: (hash, password) => limiter.run(() => verifyPassword(hash, password), options),
    verifyDummy: (password) => limiter.run(() => verifyDummyPassword(password), options),
    needsRehash,
    prioritized: () => limitedPasswords(limiter, true),
  };
}
