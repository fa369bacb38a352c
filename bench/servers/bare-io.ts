/**
 * Scenarios 6–7 baselines' common part: a bare Socket.IO server with the app's options and the
 * same Redis streams adapter (under its own stream, so it never sees the app's broadcasts) and a
 * raw `pg` pool of the app's size. No auth: a socket joins the rooms named in `auth.rooms`, and
 * `auth` carries whatever ids the baseline handler would otherwise look up. IPC `{type:'cpu'}` →
 * `{type:'cpu', cpuUs}`: this process's CPU time since the previous ask.
 */
import { createServer } from 'node:http';
import pg from 'pg';
import { Server, type Socket } from 'socket.io';
import { loadConfig } from '../../server/config.js';
import { createAdapterRedis, useStreamsAdapter } from '../../server/realtime/adapter.js';

export interface BareIo {
  io: Server;
  pool: pg.Pool;
  port: number;
  close(): Promise<void>;
}

export async function startBareIo(name: string, onConnection: (socket: Socket, auth: Record<string, unknown>) => void): Promise<BareIo> {
  const base = loadConfig(process.env);
  const config = { ...base, redisPrefix: `${base.redisPrefix}-bare-${name}` };
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
  const server = createServer();
  const io = new Server(server, {
    serveClient: false,
    maxHttpBufferSize: config.socketMaxMessageBytes,
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: false },
  });
  const redis = createAdapterRedis(config, 'bare');
  useStreamsAdapter(io as never, redis, config);
  io.on('connection', (socket) => {
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    if (Array.isArray(auth.rooms)) void socket.join(auth.rooms.filter((room): room is string => typeof room === 'string'));
    onConnection(socket, auth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'cpu') return;
    const cpu = process.cpuUsage(cpuStart);
    cpuStart = process.cpuUsage();
    process.send!({ type: 'cpu', cpuUs: cpu.user + cpu.system });
  });
  return {
    io,
    pool,
    port: (server.address() as { port: number }).port,
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      redis.disconnect();
      await pool.end();
    },
  };
}
