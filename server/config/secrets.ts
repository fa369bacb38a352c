import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Shortest secret accepted, in characters (a generated one has 64). */
export const SECRET_MIN_LENGTH = 32;

/** Where the generated signing secret lives under `STORAGE_DIR`. */
export function generatedSecretPath(storageDir: string): string {
  return join(storageDir, '.secrets', 'jwt-secret');
}

export class SecretFileError extends Error {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super(`${path} ${problem}`);
    this.name = 'SecretFileError';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readSecret(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SecretFileError(path, `cannot be read: ${(error as Error).message}`);
  }
}

/**
 * Creates the file at `path` holding `secret` unless it exists. Every process that loses the race
 * must end up reading the winner's secret, never a half-written file: the secret is written in
 * full to a file of this process's own, then hard-linked to `path` (a link fails if `path` exists,
 * atomically). Where the file system has no hard links, an exclusive create is the fallback,
 * and readers wait for its content (`readOrCreateSecret`).
 */
function createExclusively(path: string, secret: string): void {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    try {
      writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code !== 'EEXIST') throw fallbackError;
    }
  } finally {
    unlinkSync(temp);
  }
}

/**
 * The signing secret kept at `path`, generated on first use (48 random bytes, base64url; the file
 * 0600 in a 0700 folder). Synchronous, because configuration is loaded synchronously once at
 * start-up. Several instances and workers starting together over one shared `STORAGE_DIR` all
 * return the same secret.
 */
export function readOrCreateSecret(path: string): string {
  let secret = readSecret(path);
  if (secret === null) {
    try {
      mkdirSync(dirname(dirname(path)), { recursive: true });
      mkdirSync(dirname(path), { mode: 0o700, recursive: true });
      createExclusively(path, randomBytes(48).toString('base64url'));
    } catch (error) {
      throw new SecretFileError(path, `cannot be created: ${(error as Error).message}`);
    }
    secret = readSecret(path);
  }
  // Only the exclusive-create fallback can show a file whose content is still being written.
  for (let waited = 0; secret !== null && secret.length < SECRET_MIN_LENGTH && waited < 2000; waited += 50) {
    sleepSync(50);
    secret = readSecret(path);
  }
  if (secret === null || secret.length < SECRET_MIN_LENGTH) {
    throw new SecretFileError(path, `must hold a secret of at least ${SECRET_MIN_LENGTH} characters; delete it to have a new one generated`);
  }
  return secret;
}
