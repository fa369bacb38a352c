/**
 * Scenario 1(a), the floor: a bare `ws` WebSocketServer (no Socket.IO, no adapter, no auth)
 * broadcasting each message to every connected client. The JSON is made once per message,
 * as Socket.IO encodes a broadcast once, and written to each socket (`[event, payload]`,
 * Socket.IO's shape without its packet prefix). Paced and burst modes come from
 * `listenForBursts`; the room is ignored (every client is in it).
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { listenForBursts } from './io-broadcast.js';
import { serve } from './serve.js';

await serve(async () => {
  const server = createServer();
  // Same frame options as engine.io's websocket transport (no per-message deflate).
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  listenForBursts({
    emit: (_room, event, payload) => {
      const data = JSON.stringify([event, { ...payload, serverNow: new Date().toISOString() }]);
      for (const client of wss.clients) client.send(data);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
});
