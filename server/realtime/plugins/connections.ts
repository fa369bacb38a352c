import fp from 'fastify-plugin';
import { hitWindow } from '../../plugins/rate-limit.js';
import { trustProxyOption } from '../../platform/trust-proxy.js';
import { clientIpResolver } from '../client-ip.js';
import { EventGate } from '../event-gate.js';
import { JoinGrants } from '../join-grants.js';
import { LocalConnections } from '../local-connections.js';
import type { IncomingMessage } from 'node:http';

declare module 'fastify' {
  interface FastifyInstance {
    /** Admission and accounting of this instance's Socket.IO sockets and `/ws` connections. */
    realtimeConnections: RealtimeConnections;
  }
}

export interface RealtimeConnections {
  /** The users with sockets or `/ws` connections here: their count (capped) and event budget. */
  local: LocalConnections;
  /** Client events of every connection here; closed at shutdown. */
  gate: EventGate;
  /** The courses a student's handshake read, joinable without another read for a while. */
  joinGrants: JoinGrants;
  /** The client address of a raw request, with the same proxy trust as Fastify's `request.ip`. */
  clientIp(request: IncomingMessage): string;
  /**
   * Counts a Socket.IO handshake or `/ws` connection of `ip` (a fixed window in Redis, shared
   * by every instance, next to the HTTP limiter's counters); false past the limit. Fails open,
   * as the HTTP limiter does, when Redis does not answer.
   */
  admitHandshake(ip: string): Promise<boolean>;
}

export default fp(
  async (app) => {
    const { config } = app;
    const log = app.log.child({ component: 'realtime' });
    let lastLimiterWarning = 0;
    const connections: RealtimeConnections = {
      local: new LocalConnections({
        maxPerUser: config.socketsPerUserMax,
        eventsPerSecond: config.socketEventsPerSecond,
        eventsBurst: config.socketEventsBurst,
      }),
      gate: new EventGate(),
      joinGrants: new JoinGrants(config.socketJoinGrantMs),
      clientIp: clientIpResolver(trustProxyOption(config.trustProxy)),
      async admitHandshake(ip) {
        try {
          const { current } = await hitWindow(app.redis, `${config.redisPrefix}:rl:handshake:${ip}`, config.socketHandshakeRateLimitWindowMs);
          return current <= config.socketHandshakeRateLimitMax;
        } catch (error) {
          if (Date.now() - lastLimiterWarning > 10_000) {
            lastLimiterWarning = Date.now();
            log.warn({ err: error }, 'connection limiter cannot reach Redis; letting connections through');
          }
          return true;
        }
      },
    };
    app.decorate('realtimeConnections', connections);
  },
  { name: 'realtime-connections', dependencies: ['config', 'redis'] },
);
