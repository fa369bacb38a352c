import type { Config } from '../config/config.js';

/** What Fastify's `trustProxy` option takes (and `clientIpResolver`, for Socket.IO handshakes). */
export type TrustProxyOption = boolean | number | string | string[] | ((address: string, hop: number) => boolean);

/**
 * Fastify's `trustProxy` for our setting. Fastify (since 5.12.1) treats a number as "trust
 * nothing", because a hop count cannot tell a proxy from a client that reaches the port
 * directly; we still offer hop counts (the README says when they are safe) through proxy-addr's
 * hop index: hop 0 is the peer, then X-Forwarded-For from the right.
 */
export function trustProxyOption(setting: Config['trustProxy']): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  return setting;
}
