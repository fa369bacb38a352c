/**
 * Scenario 1, baseline: bare Socket.IO with io-bare.ts's server options and the same Redis
 * streams adapter (under its own stream), no auth and no database. A socket joins the room named
 * in `auth.room` on connect.
 *
 * - (a) broadcasts are `io.to(room).emit(...)` with the app's payload (`serverNow` included),
 *   paced or in bursts by `listenForBursts`, as in io-bare.ts.
 * - (b) a socket that also names `auth.attemptId` and `auth.deadline` is ticked: one
 *   `setInterval` (1 s) sends every registered attempt `quiz:tick {attemptId, remainingMs,
 *   serverNow}` the way the app's emitter does (`io.local.volatile.to('user:<id>')`), stamped
 *   like the app (ticks-common.ts). IPC `{type:'tick-start'}` ticks at once and every second
 *   after, `{type:'tick-stop'}` stops: the baseline's sockets stay connected for the whole
 *   scenario and tick only in their own runs, so they never load the core while the app is
 *   measured (the app's students connect for each of its runs instead: connecting is what
 *   makes the app tick).
 */
import { createBareSocketServer } from './bare-socket-server.js';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';
import { listenForCpuWindow, stampTicks } from './ticks-common.js';

await serve(async () => {
  const bare = createBareSocketServer('classroom-bare');
  const { io } = bare;
  listenForBursts({
    emit: (room, event, payload) => io.to(room).emit(event, { ...payload, serverNow: new Date().toISOString() }),
  });
  stampTicks(io);
  listenForCpuWindow();

  const attempts = new Map<string, { room: string; deadlineMs: number }>();
  let timer: NodeJS.Timeout | null = null;
  const tick = () => {
    for (const [attemptId, { room, deadlineMs }] of attempts) {
      io.local.volatile.to(room).emit('quiz:tick', { attemptId, remainingMs: deadlineMs - Date.now(), serverNow: new Date().toISOString() });
    }
  };
  io.on('connection', (socket) => {
    const auth = socket.handshake.auth as { room?: string; attemptId?: string; deadline?: string };
    if (auth.room) void socket.join(auth.room);
    if (!auth.room || !auth.attemptId || !auth.deadline) return;
    attempts.set(auth.attemptId, { room: auth.room, deadlineMs: new Date(auth.deadline).getTime() });
    socket.on('disconnect', () => attempts.delete(auth.attemptId!));
  });
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'tick-start' && !timer) {
      tick();
      timer = setInterval(tick, 1000);
    }
    if (message.type === 'tick-stop' && timer) {
      clearInterval(timer);
      timer = null;
    }
  });
  return {
    port: await bare.listen(),
    close: async () => {
      if (timer) clearInterval(timer);
      await bare.close();
    },
  };
});
