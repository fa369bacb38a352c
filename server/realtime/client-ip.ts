import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { TrustProxyOption } from '../platform/trust-proxy.js';

type Trust = (address: string, hop: number) => boolean;

/**
 * The trust function Fastify builds from its `trustProxy` option (fastify/lib/request.js), so that
 * a Socket.IO handshake, which never passes through Fastify, is keyed by the same client IP as
 * the HTTP limiter's `request.ip`.
 */
function trustFunction(trustProxy: TrustProxyOption): Trust {
  if (typeof trustProxy === 'function') return trustProxy;
  if (trustProxy === true) return () => true;
  if (trustProxy === false) return proxyAddr.compile([]);
  // Fastify fails closed on a bare hop count: it cannot validate the immediate peer.
  if (typeof trustProxy === 'number') return () => false;
  if (typeof trustProxy === 'string') return proxyAddr.compile(trustProxy.split(',').map((value) => value.trim()));
  return proxyAddr.compile(trustProxy);
}

/** `request.ip` as Fastify computes it, for a raw request (a Socket.IO handshake). */
export function clientIpResolver(trustProxy: TrustProxyOption): (request: IncomingMessage) => string {
  const trust = trustFunction(trustProxy);
  return (request) => {
    if (trustProxy === false) return request.socket?.remoteAddress ?? 'unknown';
    const addresses = proxyAddr.all(request, trust);
    return addresses[addresses.length - 1] ?? 'unknown';
  };
}
