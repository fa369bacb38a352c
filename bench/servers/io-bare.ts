/**
 * Scenarios 1–2, baseline: bare Socket.IO with the app's server options and the same Redis
 * streams adapter (under its own stream, so the two servers never see each other's broadcasts),
 * no auth and no database: a socket joins the room named in `auth.room` on connect, and
 * broadcasts are `io.to(room).emit(...)` with the same payload.
 */
import { createBareSocketServer } from './bare-socket-server.js';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';

await serve(async () => {
  const bare = createBareSocketServer('bare');
  const { io } = bare;
  io.on('connection', (socket) => {
    const room = (socket.handshake.auth as { room?: string }).room;
    if (room) void socket.join(room);
  });
  listenForBursts({
    emit: (room, event, payload) => io.to(room).emit(event, { ...payload, serverNow: new Date().toISOString() }),
  });
  return { port: await bare.listen(), close: () => bare.close() };
});
