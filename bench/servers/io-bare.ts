/**
 * Scenarios 1–2, baseline: bare Socket.IO with the app's server options and the same Redis
 * streams adapter (under its own stream, so the two servers never see each other's broadcasts),
 * no auth and no database: a socket joins the room named in `auth.room` on connect, and
 * broadcasts are `io.to(room).emit(...)` with the same payload.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { loadConfig } from '../../server/config.js';
import { createAdapterRedis, useStreamsAdapter } from '../../server/realtime/adapter.js';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';

const base = loadConfig(process.env);
const config = { ...base, redisPrefix: `${base.redisPrefix}-bare` };

await serve(async () => {
  const server = createServer();
  const io = new Server(server, {
    serveClient: false,
    maxHttpBufferSize: config.socketMaxMessageBytes,
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: false },
  });
  const redis = createAdapterRedis(config, 'bare');
  useStreamsAdapter(io as never, redis, config);
  io.on('connection', (socket) => {
    const room = (socket.handshake.auth as { room?: string }).room;
    if (room) void socket.join(room);
  });
  listenForBursts({
    emit: (room, event, payload) => io.to(room).emit(event, { ...payload, serverNow: new Date().toISOString() }),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      redis.disconnect();
    },
  };
});
