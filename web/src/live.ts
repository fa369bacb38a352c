// The live connection: one Socket.IO socket per tab, typed by the server's realtime contract.
// It follows the access token (handshake and `auth:refresh`), reconnects by itself, reacts to
// the browser's offline/online events (an offline network can leave a WebSocket open but
// silent), and tells the screens to resync after every (re)connection.
import { io, type Socket } from 'socket.io-client';
import type { ClientEventData, ClientEventName, ClientEventResult, ClientToServerEvents, ServerToClientEvents } from '../../server/realtime/contract.js';
import { ApiError, currentAccessToken, refresh, tokenChanges } from './api.js';
import { observeServerNow } from './clock.js';
import { Store } from './store.js';

export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export const connection = new Store<ConnectionState>('connecting');
/** Bumped after each (re)connection: screens re-join their rooms and reload what they show. */
export const resyncs = new Store<number>(0);

let socket: LiveSocket | null = null;

export function liveSocket(): LiveSocket {
  if (socket) return socket;
  const created: LiveSocket = io({
    path: '/socket.io',
    transports: ['websocket'],
    // A function, so every reconnection presents the newest token.
    auth: (cb) => cb({ token: currentAccessToken() ?? '' }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
  socket = created;
  created.on('connect', () => {
    connection.set('live');
    resyncs.set(resyncs.get() + 1);
  });
  created.on('disconnect', (reason) => {
    if (!navigator.onLine) connection.set('offline');
    else connection.set('reconnecting');
    // The server closed it (a deactivated account, a token past its grace): connect again with a fresh token.
    if (reason === 'io server disconnect') void refresh().then((ok) => ok && created.connect());
  });
  created.on('connect_error', (error) => {
    connection.set(navigator.onLine ? 'reconnecting' : 'offline');
    // A refused handshake is not retried by Socket.IO: renew the token, then try again.
    if (error.message === 'unauthorized') {
      setTimeout(() => void refresh().then((ok) => ok && !created.connected && created.connect()), 500);
    }
  });
  created.onAny((_event, payload: unknown) => {
    if (payload && typeof payload === 'object' && 'serverNow' in payload) observeServerNow((payload as { serverNow: string }).serverNow);
  });
  tokenChanges.subscribe((token) => {
    if (!token) {
      created.disconnect();
      return;
    }
    if (created.connected) created.emit('auth:refresh', { token }, () => undefined);
    else if (navigator.onLine && !created.active) created.connect();
  });
  return created;
}

export function closeLiveSocket(): void {
  socket?.disconnect();
  socket = null;
}

addEventListener('offline', () => {
  connection.set('offline');
  // Drop the silent connection now; reconnecting at `online` gets a working one and a resync.
  socket?.disconnect();
});
addEventListener('online', () => {
  if (!socket) return;
  connection.set('reconnecting');
  void refresh().finally(() => socket?.connect());
});

/** Emits a client event and resolves with its ack's data (rejects with the ack's error, or after 10 s). */
export function emit<E extends ClientEventName>(event: E, data: ClientEventData<E>): Promise<ClientEventResult<E>> {
  const live = liveSocket();
  return new Promise((resolve, reject) => {
    const emitter = live.timeout(10_000) as unknown as {
      emit: (
        event: string,
        data: unknown,
        ack: (error: Error | null, response: { ok: boolean; data?: unknown; error?: { code: string; message: string } }) => void,
      ) => void;
    };
    emitter.emit(event, data, (error, response) => {
      if (error) return reject(new ApiError(0, 'TIMEOUT', 'The live connection did not answer in time.'));
      if (response.ok) resolve(response.data as ClientEventResult<E>);
      else reject(new ApiError(0, response.error?.code ?? 'ERROR', response.error?.message ?? 'Refused'));
    });
  });
}

/** Listens to one server event while the screen is shown. */
export function onServerEvent<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]): () => void {
  const live = liveSocket() as unknown as { on(event: string, handler: unknown): void; off(event: string, handler: unknown): void };
  live.on(event, handler);
  return () => live.off(event, handler);
}
