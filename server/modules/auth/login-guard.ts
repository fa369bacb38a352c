import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { RateLimitedError, type KeyLimit } from '../../plugins/rate-limit.js';

/** How long an address that signed in to an account stays "known" to it. */
export const KNOWN_CLIENT_TTL_MS = 30 * 24 * 3600_000;

export interface LoginGuardOptions {
  /** Read at every call: the Redis plugin registers after the guard. */
  redis: () => Redis;
  /** `<REDIS_PREFIX>:`. */
  keyPrefix: string;
  /** Attempts per (email, IP), successful or not (`LOGIN_RATE_LIMIT_*`). */
  perAddress: KeyLimit;
  /** Failures per email from every address together (`LOGIN_EMAIL_FAILURE_*`). */
  emailFailures: KeyLimit;
  /** Where a Redis failure is reported (at most once per 10 s); the guard then lets attempts through. */
  log: FastifyBaseLogger;
}

// One round trip: count this attempt of (email, IP) in its fixed window, and read the email's
// failure count and whether this address is known to the account.
const ADMIT_SCRIPT = `
local attempts = redis.call('INCR', KEYS[1])
if attempts == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local attemptsTtl = redis.call('PTTL', KEYS[1])
if attemptsTtl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  attemptsTtl = tonumber(ARGV[1])
end
local failures = tonumber(redis.call('GET', KEYS[2]) or '0')
local failuresTtl = redis.call('PTTL', KEYS[2])
return {attempts, attemptsTtl, failures, failuresTtl, redis.call('EXISTS', KEYS[3])}`;

const FAILURE_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return current`;

const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('base64url');
const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/**
 * Login throttling that an attacker cannot turn against the account's owner:
 * - a tight limit per (email, IP), on every attempt: one address cannot guess much;
 * - a ceiling per email on failures from all addresses together, against guessing from many
 *   addresses. Past it, only addresses that signed in to the account successfully within
 *   `KNOWN_CLIENT_TTL_MS` may still try, so the owner keeps signing in from its usual places.
 * Emails and addresses are hashed into the keys. Fails open when Redis does not answer, like
 * the other limits.
 */
export class LoginGuard {
  #lastWarning = 0;

  constructor(private readonly options: LoginGuardOptions) {}

  #failOpen(error: unknown): void {
    const now = Date.now();
    if (now - this.#lastWarning < 10_000) return;
    this.#lastWarning = now;
    this.options.log.warn({ err: error }, 'login limiter cannot reach Redis; letting attempts through');
  }

  #keys(email: string, ip: string) {
    const prefix = this.options.keyPrefix;
    return {
      attempts: `${prefix}rl:login:${digest(email, ip)}`,
      failures: `${prefix}rl:login-failures:${digest(email)}`,
      known: `${prefix}login-known:${digest(email, ip)}`,
    };
  }

  /**
   * Counts an attempt before the password is checked; throws `RateLimitedError` when it may not
   * be made. `known`: the address signed in to this account before (false when Redis is down).
   */
  async admit(email: string, ip: string): Promise<{ known: boolean }> {
    const keys = this.#keys(email, ip);
    let result: [number, number, number, number, number];
    try {
      result = (await this.options.redis().eval(ADMIT_SCRIPT, 3, keys.attempts, keys.failures, keys.known, this.options.perAddress.windowMs)) as typeof result;
    } catch (error) {
      this.#failOpen(error);
      return { known: false };
    }
    const [attempts, attemptsTtl, failures, failuresTtl, known] = result;
    if (attempts > this.options.perAddress.max) throw new RateLimitedError(seconds(attemptsTtl));
    if (failures >= this.options.emailFailures.max && known !== 1) {
      throw new RateLimitedError(seconds(failuresTtl > 0 ? failuresTtl : this.options.emailFailures.windowMs));
    }
    return { known: known === 1 };
  }

  /** A wrong password (or an unknown or inactive account). */
  async failed(email: string): Promise<void> {
    try {
      await this.options.redis().eval(FAILURE_SCRIPT, 1, this.#keys(email, '').failures, this.options.emailFailures.windowMs);
    } catch (error) {
      this.#failOpen(error);
    }
  }

  /** A successful login: the address becomes known to the account. */
  async succeeded(email: string, ip: string): Promise<void> {
    try {
      await this.options.redis().set(this.#keys(email, ip).known, '1', 'PX', KNOWN_CLIENT_TTL_MS);
    } catch (error) {
      this.#failOpen(error);
    }
  }
}
