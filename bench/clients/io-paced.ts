/**
 * Socket.IO load client of scenarios 6, 7 and 9 (real `socket.io-client`, websocket transport): sockets
 * that send client events on a shared schedule and record the server events they receive. IPC in:
 * - `{type:'connect', url, sockets: [{key, auth, join?}]}` → `{type:'connected'}` (bounded batches;
 *   `join` is a course id for `course:join`, whose ack must be ok);
 * - `{type:'listen', event, field, expect, timeoutMs, arrayAt?}` → `{type:'listening'}`, then, once
 *   `expect` events arrived or at the timeout, `{type:'arrivals', arrivals: [key, hrtime][],
 *   incomplete}`: an event's key is `<payload[field]>#<n>`, its n-th occurrence for that value in
 *   this process; with `arrayAt: {path, length}`, `incomplete` counts the events whose payload
 *   does not hold an array of `length` items at `path` (e.g. an attempt without its questions);
 * - `{type:'send', startAt, items: [{socket, event, data, key, atMs}], timeoutMs}` → `{type:'sent',
 *   sent: [key, hrtime][], failures, failed, unsent, maxLagMs}` once every ack came back or timed
 *   out; each stamp is taken just before its `emit`; `unsent` items were never sent (the schedule
 *   ran out of time), `failed` counts them and the refused or unanswered ones.
 * Stamps are `process.hrtime.bigint()` strings (CLOCK_MONOTONIC, comparable across processes).
 */
import { io as connect, type Socket } from 'socket.io-client';
import { inBatches, joinCourse } from './connecting.js';
import { pace } from './pace.js';

interface SocketSpec {
  key: string;
  auth: Record<string, unknown>;
  join?: string;
}
interface Item {
  socket: string;
  event: string;
  data: unknown;
  key: string;
  atMs: number;
}

const sockets = new Map<string, Socket>();

async function open(url: string, specs: SocketSpec[]) {
  await inBatches(specs, async (spec) => {
    const socket = connect(url, { transports: ['websocket'], reconnection: false, auth: spec.auth, timeout: 20_000 });
    sockets.set(spec.key, socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect_error', reject);
      socket.once('connect', () => resolve());
    });
    if (spec.join) await joinCourse(socket, spec.join);
  });
}

/** The array `length` items long at `path` of `payload`, if there is one. */
function holdsArray(payload: unknown, { path, length }: { path: string[]; length: number }): boolean {
  const value = path.reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined), payload);
  return Array.isArray(value) && value.length === length;
}

function listen(event: string, field: string, expect: number, timeoutMs: number, arrayAt?: { path: string[]; length: number }) {
  return new Promise<Record<string, unknown>>((resolve) => {
    const arrivals: Array<[string, string]> = [];
    const seen = new Map<string, number>();
    let incomplete = 0;
    const finish = () => {
      clearTimeout(timer);
      for (const socket of sockets.values()) socket.off(event, onEvent);
      resolve({ type: 'arrivals', arrivals, incomplete });
    };
    const timer = setTimeout(finish, timeoutMs);
    function onEvent(payload: Record<string, unknown>) {
      const at = process.hrtime.bigint().toString();
      const value = String(payload[field]);
      const n = seen.get(value) ?? 0;
      seen.set(value, n + 1);
      arrivals.push([`${value}#${n}`, at]);
      if (arrayAt && !holdsArray(payload, arrayAt)) incomplete++;
      if (arrivals.length >= expect) finish();
    }
    for (const socket of sockets.values()) socket.on(event, onEvent);
    process.send!({ type: 'listening' });
  });
}

async function send(startAt: bigint, items: Item[], timeoutMs: number) {
  const sent: Array<[string, string]> = [];
  const failures: string[] = [];
  let failed = 0;
  const acks: Array<Promise<void>> = [];
  const { maxLagMs } = await pace(
    startAt,
    items.map((item) => item.atMs),
    (index) => {
      const item = items[index]!;
      const socket = sockets.get(item.socket);
      if (!socket) throw new Error(`no socket ${item.socket}`);
      acks.push(
        new Promise<void>((resolve) => {
          sent.push([item.key, process.hrtime.bigint().toString()]);
          socket.timeout(timeoutMs).emit(item.event, item.data, (error: Error | null, ack: { ok: boolean; error?: unknown }) => {
            if (error || !ack.ok) {
              failed++;
              if (failures.length < 5) failures.push(`${item.event} ${item.key}: ${JSON.stringify(error?.message ?? ack.error)}`);
            }
            resolve();
          });
        }),
      );
    },
    timeoutMs,
  );
  await Promise.all(acks);
  const unsent = items.length - acks.length; // the schedule ran out of time
  return { type: 'sent', sent, failures, failed: failed + unsent, unsent, maxLagMs };
}

process.on(
  'message',
  (message: {
    type: string;
    url: string;
    sockets: SocketSpec[];
    event: string;
    field: string;
    expect: number;
    timeoutMs: number;
    startAt: string;
    items: Item[];
    arrayAt?: { path: string[]; length: number };
  }) => {
    const fail = (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) });
    if (message.type === 'connect') open(message.url, message.sockets).then(() => process.send!({ type: 'connected' }), fail);
    if (message.type === 'listen')
      listen(message.event, message.field, message.expect, message.timeoutMs, message.arrayAt).then((result) => process.send!(result), fail);
    if (message.type === 'send') send(BigInt(message.startAt), message.items, message.timeoutMs).then((result) => process.send!(result), fail);
  },
);
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
