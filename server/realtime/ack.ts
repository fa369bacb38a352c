import type { EntityManager } from '@mikro-orm/postgresql';
import type { ServiceDeps } from '../modules/deps.js';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, type ErrorCode } from '../platform/errors.js';
import { mapError, type MappedError } from '../platform/error-mapping.js';
import type { AuthUser } from '../modules/auth/auth-user.js';
import type { Ack, ClientEventData, ClientEventName, ClientEventResult } from './contract.js';
import type { EventGate } from './event-gate.js';
import type { TokenBucket } from './rate-limit.js';
import { ThrottledWarning } from '../plugins/errors.js';
import { payloadError } from './payload-validation.js';
import type { ClientConnection, RealtimeSocket } from './types.js';

export type { ClientEventData, ClientEventName, ClientEventResult };

/** What a handler gets for one event. */
export interface EventContext {
  /** The Socket.IO socket or the `/ws` connection the event came on. */
  socket: ClientConnection;
  /** The socket's user as of its last token check. */
  user: AuthUser;
  /** Forked for this event alone. */
  em: EntityManager;
  /** Service dependencies of this event, around `em`. */
  deps: ServiceDeps;
}

/** One client event's work; its result is the ack's `data`, its `AppError` the ack's `error`. */
export type ClientEventHandler<E extends ClientEventName> = (ctx: EventContext, data: ClientEventData<E>) => Promise<ClientEventResult<E>>;

/** A domain's handlers, as its `*.handlers.ts` factory returns them. */
export type ClientEventHandlers<E extends ClientEventName> = { [K in E]: ClientEventHandler<K> };

export interface BindDeps {
  /** Service dependencies with an EntityManager of their own, one call per event. */
  forkDeps(): ServiceDeps;
  log: FastifyBaseLogger;
  /** The event budget of the connection's user on this instance (shared by its connections). */
  bucket: TokenBucket;
  /** Closed when the instance shuts down; counts the events running until they ack. */
  gate?: EventGate;
}

const unavailableLog = new ThrottledWarning('a dependency cannot be reached; acking UNAVAILABLE');

function failure(code: ErrorCode, message: string, retryAfter?: number): Ack<never> {
  return { ok: false, error: retryAfter ? { code, message, retryAfter } : { code, message } };
}

/** The ack of an error: the code, message and `retryAfter` HTTP would answer (`mapError`). */
export function errorAck(mapped: MappedError): Ack<never> {
  return failure(mapped.code, mapped.message, mapped.retryAfter);
}

/** The ack of an event that arrived after the instance stopped taking events (shutting down). */
export const SHUTTING_DOWN_ACK: Ack<never> = failure('UNAVAILABLE', 'The server is restarting; send it again once reconnected');

/**
 * Runs `event` through the gate: refused with UNAVAILABLE once it is closed, otherwise
 * counted as running until `reply` (which writes the ack) has returned.
 */
export async function runGatedClientEvent<E extends ClientEventName>(
  conn: ClientConnection,
  event: E,
  data: unknown,
  handler: ClientEventHandler<E>,
  deps: BindDeps,
  reply: (response: Ack<unknown>) => void,
): Promise<void> {
  if (deps.gate && !deps.gate.enter()) return reply(SHUTTING_DOWN_ACK);
  try {
    reply(await runClientEvent(conn, event, data, handler, deps));
  } finally {
    deps.gate?.leave();
  }
}

/**
 * One client event, whichever transport it came on: rate limit, payload validation, a forked
 * EntityManager, then `handler`; the outcome is the ack. Errors are mapped as HTTP maps them
 * (`mapError`: same code, message and retry delay); unexpected ones are logged and answered
 * INTERNAL_ERROR.
 */
export async function runClientEvent<E extends ClientEventName>(
  conn: ClientConnection,
  event: E,
  data: unknown,
  handler: ClientEventHandler<E>,
  deps: BindDeps,
): Promise<Ack<unknown>> {
  if (!deps.bucket.take()) return failure('RATE_LIMITED', 'Too many events; slow down');
  const invalid = payloadError(event, data);
  if (invalid) return failure('VALIDATION_ERROR', invalid);
  try {
    const serviceDeps = deps.forkDeps();
    const ctx: EventContext = { socket: conn, user: { id: conn.data.userId, role: conn.data.role }, em: serviceDeps.em, deps: serviceDeps };
    return { ok: true, data: await handler(ctx, data as ClientEventData<E>) };
  } catch (error) {
    const mapped = mapError(error);
    if (mapped) {
      if (mapped.code === 'UNAVAILABLE' && !(error instanceof AppError)) unavailableLog.noticed(error, deps.log);
      return errorAck(mapped);
    }
    deps.log.error({ err: error, event, connectionId: conn.id, userId: conn.data.userId }, 'client event failed');
    return failure('INTERNAL_ERROR', 'Something went wrong');
  }
}

/** What each bound socket's listeners need; kept off `socket.data`, which recovery serialises. */
const socketDeps = new WeakMap<RealtimeSocket, BindDeps>();
type SharedListener = (this: RealtimeSocket, ...args: unknown[]) => Promise<void>;
/** Handler → event → its listener, shared by every socket it is bound to (see `bindClientEvent`). */
const sharedListeners = new WeakMap<ClientEventHandler<never>, Map<string, SharedListener>>();

/**
 * Listens to `event` on a Socket.IO socket and answers through its ack callback. A client that
 * sent no ack callback gets nothing back and breaks nothing.
 *
 * The listener is shared by all sockets and finds its socket in `this` (an EventEmitter calls
 * listeners with `this` set to itself): a closure per socket and event (with its context and,
 * under tsx's `keepNames`, its own `name` property) cost about 2 KiB per connected socket
 * (bench/scenarios/memory.ts). A socket has one `deps`, the last given.
 */
export function bindClientEvent<E extends ClientEventName>(socket: RealtimeSocket, event: E, handler: ClientEventHandler<E>, deps: BindDeps): void {
  socketDeps.set(socket, deps);
  let byEvent = sharedListeners.get(handler);
  if (!byEvent) sharedListeners.set(handler, (byEvent = new Map<string, SharedListener>()));
  let listener = byEvent.get(event);
  if (!listener) {
    listener = async function (this: RealtimeSocket, ...args: unknown[]) {
      const own = socketDeps.get(this);
      if (!own) return;
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (response: unknown) => void) : null;
      await runGatedClientEvent(this, event, args[0], handler, own, (response) => {
        if (!ack) return;
        try {
          ack(response);
        } catch (error) {
          own.log.warn({ err: error, event }, 'socket ack failed');
        }
      });
    };
    byEvent.set(event, listener);
  }
  (socket.on as (event: string, listener: (...args: unknown[]) => void) => unknown)(event, listener);
}

/** Binds every handler of a domain. */
export function bindClientEvents<E extends ClientEventName>(socket: RealtimeSocket, handlers: ClientEventHandlers<E>, deps: BindDeps): void {
  for (const event of Object.keys(handlers) as E[]) bindClientEvent(socket, event, handlers[event], deps);
}
