import { createHmac } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerEventName, ServerEventPayload, ServerToClientEvents } from '../../server/realtime/contract.js';
import type { App } from '../../server/app.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Listens on an ephemeral port of 127.0.0.1 and returns the base URL. */
export async function listen(app: App): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

export interface ConnectOptions {
  /** Let the client reconnect by itself (recovery tests). */
  reconnection?: boolean;
  reconnectionDelay?: number;
}

/** A client socket (websocket transport), not yet connected; closed at teardown by `sockets.closeAll()`. */
export function client(url: string, token: string | undefined, options: ConnectOptions = {}): ClientSocket {
  return io(url, {
    auth: token === undefined ? {} : { token },
    transports: ['websocket'],
    forceNew: true,
    autoConnect: false,
    reconnection: options.reconnection ?? false,
    reconnectionDelay: options.reconnectionDelay ?? 100,
    reconnectionDelayMax: options.reconnectionDelay ?? 100,
    randomizationFactor: 0,
  });
}

/** Connects and resolves once connected; rejects with the `connect_error`. */
export function connect(socket: ClientSocket, timeoutMs = 5000): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('connect timed out')), timeoutMs);
    const onConnect = () => done();
    const onError = (error: Error) => done(error);
    function done(error?: Error) {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      if (error) reject(error);
      else resolve(socket);
    }
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
  });
}

/** The message of the `connect_error` this socket gets (fails if it connects instead). */
export async function connectError(socket: ClientSocket, timeoutMs = 5000): Promise<string> {
  try {
    await connect(socket, timeoutMs);
  } catch (error) {
    return (error as Error).message;
  } finally {
    socket.disconnect();
  }
  throw new Error('expected the connection to be refused');
}

/** Resolves with the next `name` event (matching `predicate`) within `timeoutMs`. */
export function nextEvent<E extends ServerEventName>(
  socket: ClientSocket,
  name: E,
  predicate: (payload: ServerEventPayload<E>) => boolean = () => true,
  timeoutMs = 5000,
): Promise<ServerEventPayload<E>> {
  return new Promise((resolve, reject) => {
    const listener = (payload: ServerEventPayload<E>) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(name, listener as never);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      socket.off(name, listener as never);
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on(name, listener as never);
  });
}

/** Resolves with the reason of the socket's next `disconnect`. */
export function nextDisconnect(socket: ClientSocket, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no disconnect within ${timeoutMs} ms`)), timeoutMs);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** Records every server event a socket receives, in order. */
export function record(socket: ClientSocket): Array<{ event: string; payload: any; at: number }> {
  const seen: Array<{ event: string; payload: any; at: number }> = [];
  socket.onAny((event: string, payload: unknown) => seen.push({ event, payload, at: Date.now() }));
  return seen;
}

/**
 * The events that reach the client's connection at all, read where packets are decoded: events
 * that arrive before the socket connects are buffered by the client and never surface from
 * `onAny` if it is refused.
 */
export function receivedEventPackets(socket: ClientSocket): unknown[][] {
  const seen: unknown[][] = [];
  socket.io.on('packet', (packet: { type: number; data?: unknown }) => {
    if (packet.type === 2 && Array.isArray(packet.data)) seen.push(packet.data);
  });
  return seen;
}

/** Emits a client event and resolves with its ack. */
export function request<E extends keyof ClientToServerEvents>(socket: ClientSocket, event: E, data: unknown, timeoutMs = 5000): Promise<any> {
  return (socket.timeout(timeoutMs).emitWithAck as (event: string, data: unknown) => Promise<unknown>)(event, data);
}

/** An HS256 JWT made by hand, to present expired and forged tokens. */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** Keeps track of sockets to close at teardown. */
export function socketPool() {
  const sockets: ClientSocket[] = [];
  return {
    add(socket: ClientSocket): ClientSocket {
      sockets.push(socket);
      return socket;
    },
    closeAll() {
      for (const socket of sockets) socket.disconnect();
    },
  };
}
