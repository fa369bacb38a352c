/**
 * Scenario 13's load client (real `socket.io-client`, websocket transport), in one of two roles
 * per process.
 *
 * The instructor (one socket):
 * - `{type:'instructor', url, token, courseId}` → `{type:'instructor-joined', ackBytes}`: connects,
 *   joins the course (its ack must be ok) and from then on records every `presence:updated`: its
 *   arrival (hrtime), its JSON size, and the user ids in its `joined` and `left` lists;
 * - `{type:'await-presence', joined?, left?, timeoutMs}` → `{type:'presence', events: [hrtime,
 *   bytes][], joined, left, onlineCount, complete}` once the events so far name at least `joined`
 *   joined users, or at least `left` departures (or carry `onlineCount` ≤ 1 after them), or at the timeout;
 * - `{type:'close'}` → `{type:'closed'}`.
 * It depends on no more of the payload than `joined` and `left` arrays (and `onlineCount` when
 * present), so it reads one event per change and batched events alike.
 *
 * The students (many sockets):
 * - `{type:'storm', url, sockets: [{token, courseId}], perSecond, maxInFlight, timeoutMs}` →
 *   `{type:'stormed', startedAt, endedAt, joined, failed, failures, ackBytes}`: socket `i` starts
 *   connecting at `i / perSecond` s (0: at once), with at most `maxInFlight` sockets connecting or
 *   waiting for their join's ack (a client process cannot open 10,000 at once; the bound keeps the
 *   client from being what is measured). Each joins the course once connected. `startedAt` is
 *   the first connection's start and `endedAt` the last ack's arrival (hrtime strings, CLOCK_MONOTONIC);
 *   `ackBytes` the JSON size of every ack's `data`. A refused or unanswered join counts in `failed`.
 * - `{type:'close'}` → `{type:'closed'}`: every socket disconnects.
 */
import { io as connect, type Socket } from 'socket.io-client';

const sockets: Socket[] = [];

interface Presence {
  events: Array<[string, number]>;
  joined: number;
  left: number;
  onlineCount: number | null;
  /** Called after every event. */
  onEvent: (() => void) | null;
}

const presence: Presence = { events: [], joined: 0, left: 0, onlineCount: null, onEvent: null };

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null));

function open(url: string, token: string, timeoutMs: number): Promise<Socket> {
  const socket = connect(url, { transports: ['websocket'], reconnection: false, auth: { token }, timeout: timeoutMs });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('connect', () => resolve(socket));
  });
}

/** `course:join`; resolves with the ack's JSON size. */
function join(socket: Socket, courseId: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.timeout(timeoutMs).emit('course:join', { courseId }, (error: Error | null, ack: { ok: boolean; data?: unknown; error?: unknown }) => {
      if (error || !ack.ok) reject(new Error(`course:join refused: ${JSON.stringify(error?.message ?? ack.error)}`));
      else resolve(bytes(ack.data));
    });
  });
}

async function instructor(url: string, token: string, courseId: string) {
  const socket = await open(url, token, 20_000);
  socket.on('presence:updated', (payload: { joined?: unknown; left?: unknown; onlineCount?: unknown }) => {
    presence.events.push([process.hrtime.bigint().toString(), bytes(payload)]);
    if (Array.isArray(payload.joined)) presence.joined += payload.joined.length;
    if (Array.isArray(payload.left)) presence.left += payload.left.length;
    if (typeof payload.onlineCount === 'number') presence.onlineCount = payload.onlineCount;
    presence.onEvent?.();
  });
  const ackBytes = await join(socket, courseId, 20_000);
  return { type: 'instructor-joined', ackBytes };
}

function awaitPresence(want: { joined?: number; left?: number }, timeoutMs: number) {
  return new Promise<Record<string, unknown>>((resolve) => {
    const report = (complete: boolean) => {
      clearTimeout(timer);
      presence.onEvent = null;
      resolve({ type: 'presence', events: presence.events, joined: presence.joined, left: presence.left, onlineCount: presence.onlineCount, complete });
    };
    const check = () => {
      const joinedAll = want.joined !== undefined && presence.joined >= want.joined;
      const leftAll = want.left !== undefined && (presence.left >= want.left || (presence.onlineCount !== null && presence.onlineCount <= 1));
      if (joinedAll || leftAll) report(true);
    };
    const timer = setTimeout(() => report(false), timeoutMs);
    presence.onEvent = check;
    check();
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function storm(url: string, specs: Array<{ token: string; courseId: string }>, perSecond: number, maxInFlight: number, timeoutMs: number) {
  const startedAt = process.hrtime.bigint();
  let endedAt = startedAt;
  let inFlight = 0;
  let slotFreed: (() => void) | null = null;
  let joined = 0;
  let failed = 0;
  let ackBytes = 0;
  const failures: string[] = [];
  const done: Array<Promise<void>> = [];
  const one = async (spec: { token: string; courseId: string }) => {
    try {
      const socket = await open(url, spec.token, timeoutMs);
      const size = await join(socket, spec.courseId, timeoutMs);
      ackBytes += size; // not `+= await`: that would add to the total read before the wait
      joined++;
      endedAt = process.hrtime.bigint();
    } catch (error) {
      failed++;
      if (failures.length < 5) failures.push((error as Error).message);
    } finally {
      inFlight--;
      slotFreed?.();
    }
  };
  const limit = startedAt + BigInt(timeoutMs) * 1_000_000n;
  for (let index = 0; index < specs.length; index++) {
    if (process.hrtime.bigint() > limit) {
      failed += specs.length - index;
      break;
    }
    const dueMs = perSecond > 0 ? (index * 1000) / perSecond - Number(process.hrtime.bigint() - startedAt) / 1e6 : 0;
    if (dueMs >= 1) await sleep(dueMs);
    // Bounded: each wait ends when a socket in flight settles (every one does, by its timeouts).
    while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (slotFreed = resolve));
    slotFreed = null;
    inFlight++;
    done.push(one(specs[index]!));
  }
  await Promise.all(done);
  return { type: 'stormed', startedAt: startedAt.toString(), endedAt: endedAt.toString(), joined, failed, failures, ackBytes };
}

process.on(
  'message',
  (message: {
    type: string;
    url: string;
    token: string;
    courseId: string;
    sockets: Array<{ token: string; courseId: string }>;
    perSecond: number;
    maxInFlight: number;
    joined?: number;
    left?: number;
    timeoutMs: number;
  }) => {
    const fail = (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) });
    if (message.type === 'instructor') instructor(message.url, message.token, message.courseId).then((result) => process.send!(result), fail);
    if (message.type === 'await-presence')
      awaitPresence({ joined: message.joined, left: message.left }, message.timeoutMs).then((result) => process.send!(result), fail);
    if (message.type === 'storm')
      storm(message.url, message.sockets, message.perSecond, message.maxInFlight, message.timeoutMs).then((result) => process.send!(result), fail);
    if (message.type === 'close') {
      for (const socket of sockets.splice(0)) socket.disconnect();
      Object.assign(presence, { events: [], joined: 0, left: 0, onlineCount: null, onEvent: null });
      process.send!({ type: 'closed' });
    }
  },
);
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
