import fp from 'fastify-plugin';
import type { RealtimeServer, RealtimeSocket } from '../types.js';

/** How often sockets whose token expired (plus grace) are looked for. */
const TOKEN_SWEEP_MS = 1000;

/**
 * The realtime layer's timers and its shutdown, which must run in one order across the parts:
 * events stop, connections close (for recovery elsewhere), presence is cleared.
 */
export default fp(
  async (app) => {
    const { config, io, wsHub: ws, publisher, quizTicks: ticks, presence } = app;
    const { gate } = app.realtimeConnections;
    const log = app.log.child({ component: 'realtime' });

    // A socket whose token expired waits `socketTokenGraceMs` for `auth:refresh`, then goes.
    const tokenSweep = setInterval(() => {
      const cutoff = Date.now() - config.socketTokenGraceMs;
      for (const socket of io.of('/').sockets.values()) {
        if (socket.data.expiresAt <= cutoff) socket.disconnect(true);
      }
      ws.closeExpired(cutoff);
    }, TOKEN_SWEEP_MS);
    tokenSweep.unref();

    // Shutdown, once the drain is over (server/main.ts), before the HTTP server stops: without it
    // open sockets would keep the server from closing. Client events stop being taken (answered
    // UNAVAILABLE) and the running ones ack; then every connection is closed as a
    // transport close, which clients reconnect from (through the load balancer, to another
    // instance), and for which Socket.IO stores the socket's session for recovery (the adapter
    // writes it to Redis; the adapter's connection quits only after those writes, in onClose).
    // `disconnectSockets(true)` would be "io server disconnect": clients never reconnect from it.
    app.addHook('preClose', async () => {
      clearInterval(tokenSweep);
      const started = Date.now();
      if (!(await gate.close(config.shutdownTimeoutMs))) log.warn('client events still running at shutdown; closing their connections anyway');
      ticks.close();
      publisher.close();
      const sockets = io.of('/').sockets.size;
      await closeTransports(io, config.shutdownTimeoutMs);
      ws.closeAll();
      log.info({ sockets, ms: Date.now() - started }, 'client events stopped and sockets closed for recovery elsewhere');
      // Whatever is left (handshakes under way, polling requests).
      io.engine.close();
      // This instance's users leave presence now rather than when its heartbeat expires.
      await presence.stop().catch((error) => log.warn({ err: error }, 'presence cleanup failed'));
    });
  },
  {
    name: 'realtime-lifecycle',
    dependencies: ['config', 'realtime-io', 'realtime-connections', 'realtime-publisher', 'realtime-presence', 'realtime-ws', 'realtime-sockets'],
  },
);

/**
 * Closes the engine.io connection of every socket here and waits (at most `timeoutMs`) until they
 * are closed. Unlike `io.engine.close()`, which discards them, each connection first writes what
 * is queued (the last acks).
 */
async function closeTransports(io: RealtimeServer, timeoutMs: number): Promise<void> {
  const conns = new Set<RealtimeSocket['conn']>();
  for (const socket of io.of('/').sockets.values()) if (socket.conn.readyState !== 'closed') conns.add(socket.conn);
  if (conns.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const closed = [...conns].map(
    (conn) =>
      new Promise<void>((resolve) => {
        conn.once('close', () => resolve());
        conn.close();
      }),
  );
  await Promise.race([
    Promise.all(closed),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
