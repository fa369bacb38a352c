/**
 * The baselines' bare Socket.IO server, one definition for every scenario: the app's server
 * options (recovery window included) and the same Redis streams adapter, under a stream of its
 * own (`<prefix>-<name>`) so it never sees the app's broadcasts. No auth, no database.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { loadConfig, type Config } from '../../server/config/config.js';
import { createAdapterRedis, useStreamsAdapter } from '../../server/realtime/adapter.js';

export interface BareSocketServer {
  config: Config;
  server: HttpServer;
  io: Server;
  /** Listens on 127.0.0.1, a free port; resolves with the port. */
  listen(): Promise<number>;
  /** Disconnects every socket, closes the server and the adapter's Redis. */
  close(): Promise<void>;
}

export function createBareSocketServer(name: string): BareSocketServer {
  const base = loadConfig(process.env);
  const config = { ...base, redisPrefix: `${base.redisPrefix}-${name}` };
  const server = createServer();
  const io = new Server(server, {
    serveClient: false,
    maxHttpBufferSize: config.socketMaxMessageBytes,
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: false },
  });
  const redis = createAdapterRedis(config, name);
  useStreamsAdapter(io as never, redis, config);
  return {
    config,
    server,
    io,
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as { port: number }).port;
    },
    async close() {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      redis.disconnect();
    },
  };
}
