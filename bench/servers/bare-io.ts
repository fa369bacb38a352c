/**
 * Scenarios 6–7 baselines' common part: a bare Socket.IO server with the app's options and the
 * same Redis streams adapter (under its own stream, so it never sees the app's broadcasts) and a
 * raw `pg` pool of the app's size. No auth: a socket joins the rooms named in `auth.rooms`, and
 * `auth` carries whatever ids the baseline handler would otherwise look up. IPC `{type:'cpu'}` →
 * `{type:'cpu', cpuUs}`: this process's CPU time since the previous ask.
 */
import pg from 'pg';
import type { Server, Socket } from 'socket.io';
import { createBareSocketServer } from './bare-socket-server.js';

export interface BareIo {
  io: Server;
  pool: pg.Pool;
  port: number;
  close(): Promise<void>;
}

export async function startBareIo(name: string, onConnection: (socket: Socket, auth: Record<string, unknown>) => void): Promise<BareIo> {
  const bare = createBareSocketServer(`bare-${name}`);
  const { io, config } = bare;
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.dbPoolMax });
  io.on('connection', (socket) => {
    const auth = (socket.handshake.auth ?? {}) as Record<string, unknown>;
    if (Array.isArray(auth.rooms)) void socket.join(auth.rooms.filter((room): room is string => typeof room === 'string'));
    onConnection(socket, auth);
  });
  const port = await bare.listen();
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
    port,
    async close() {
      await bare.close();
      await pool.end();
    },
  };
}
