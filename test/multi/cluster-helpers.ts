import WebSocket from 'ws';
import { freePort, spawnEntry, type Spawned } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

export interface Instance extends Spawned {
  url: string;
}

/** An API instance (`server/main.ts`) as a child process, resolved once `/ready` answers 200. */
export async function startInstance(env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const spawned = spawnEntry('server/main.ts', { WORKERS: 'off', ...env, HOST: '127.0.0.1', PORT: String(port) });
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  void spawned.exited.then(() => (exited = true));
  await waitFor(
    `instance on ${port} to be ready`,
    async () => {
      if (exited) throw new Error(`instance exited early:\n${spawned.output()}`);
      const res = await fetch(`${url}/ready`).catch(() => null);
      return res?.status === 200;
    },
    30_000,
    100,
  );
  return { ...spawned, url };
}

/** Ends a child at once (SIGKILL) and waits for it. */
export async function kill(child: Spawned): Promise<void> {
  if (child.child.exitCode !== null || child.child.signalCode !== null) return;
  child.child.kill('SIGKILL');
  await child.exited;
}

/** `fetch` with a bearer token and JSON, returning status and body. */
export async function http(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A `/ws` client that records server events and answers acks by id. */
export interface WsClient {
  ws: WebSocket;
  events: Array<{ type: string; data: any; at: number }>;
  send(type: string, data?: unknown): Promise<any>;
  /** Next frame of `type` (matching `predicate`) from now on: its `data`, or the whole frame of an ack. */
  next(type: string, predicate?: (data: any) => boolean, timeoutMs?: number): Promise<any>;
  closed: Promise<{ code: number; reason: string }>;
}

export function wsClient(url: string): Promise<WsClient> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'));
  const events: WsClient['events'] = [];
  const acks = new Map<string, (frame: any) => void>();
  const waiters = new Set<(frame: any) => void>();
  let nextId = 1;
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'ack') {
      const resolve = acks.get(String(frame.id));
      acks.delete(String(frame.id));
      resolve?.(frame);
    } else {
      events.push({ type: frame.type, data: frame.data, at: Date.now() });
    }
    for (const waiter of [...waiters]) waiter(frame);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const client: WsClient = {
    ws,
    events,
    closed,
    send(type, data) {
      const id = String(nextId++);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ack for ${type}`)), 5000);
        acks.set(id, (frame) => {
          clearTimeout(timer);
          resolve(frame);
        });
        ws.send(JSON.stringify({ type, id, data }));
      });
    },
    next(type, predicate = () => true, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const waiter = (frame: any) => {
          if (frame.type !== type || !predicate(frame.type === 'ack' ? frame : frame.data)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(frame.type === 'ack' ? frame : frame.data);
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no ${type} frame within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('error', reject);
  });
}

/** Counts of each event name (ticks left out), for "exactly once" checks. */
export function countByName(seen: Array<{ event?: string; type?: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of seen) {
    const name = entry.event ?? entry.type!;
    if (name === 'quiz:tick') continue;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Events seen twice with the same payload (ignoring `serverNow`): must be none. */
export function duplicates(seen: Array<{ event?: string; type?: string; payload?: any; data?: any }>): string[] {
  const keys = new Set<string>();
  const twice: string[] = [];
  for (const entry of seen) {
    const name = entry.event ?? entry.type!;
    if (name === 'quiz:tick') continue;
    const { serverNow: _ignored, ...rest } = (entry.payload ?? entry.data) as Record<string, unknown>;
    const key = `${name} ${JSON.stringify(rest)}`;
    if (keys.has(key)) twice.push(key);
    keys.add(key);
  }
  return twice;
}
