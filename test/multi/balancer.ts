import { request as httpRequest } from 'node:http';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';

/**
 * A load balancer's health checks: polls `GET /ready` of each backend every `intervalMs`. A backend
 * answering 200 is in rotation; one that answers anything else (503 while draining) leaves it at
 * once; one that does not answer in time leaves it after three misses in a row, as real balancers
 * count failures (a busy test machine makes a healthy instance miss one now and then).
 */
export class HealthChecks {
  private readonly healthy = new Map<string, boolean>();
  private readonly misses = new Map<string, number>();
  /** Each change of a backend's state: when (epoch ms), which, and whether it is in rotation now. */
  readonly changes: Array<{ at: number; backend: string; healthy: boolean }> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly backends: string[],
    private readonly intervalMs = 200,
  ) {}

  async start(): Promise<void> {
    await this.check();
    // One round at a time: a slow answer must not land after a newer one.
    const next = () => {
      this.timer = setTimeout(() => void this.check().then(() => this.timer && next()), this.intervalMs);
    };
    next();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The first backend in rotation, in the order given (so that every client starts on the first). */
  pick(): string | undefined {
    return this.backends.find((backend) => this.healthy.get(backend));
  }

  private async check(): Promise<void> {
    await Promise.all(
      this.backends.map(async (backend) => {
        const res = await fetch(`${backend}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
        const misses = res ? 0 : (this.misses.get(backend) ?? 0) + 1;
        this.misses.set(backend, misses);
        const healthy = res ? res.status === 200 : (this.healthy.get(backend) ?? false) && misses < 3;
        if (this.healthy.get(backend) !== healthy) this.changes.push({ at: Date.now(), backend, healthy });
        this.healthy.set(backend, healthy);
        await res?.body?.cancel().catch(() => undefined);
      }),
    );
  }
}

/** A TCP load balancer in front of API instances, as a deployment has (for tests). */
export interface Balancer {
  url: string;
  /** New connections wait (accepted, unread) until `release()`, then go where the checks say. */
  hold(): void;
  release(): void;
  /** Connections sent to each backend so far. */
  routed: Map<string, number>;
  /** Each routing decision: when (epoch ms) and where. */
  log: Array<{ at: number; target: string | null }>;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 and pipes each new TCP connection to the first backend in rotation (a
 * connection stays with its backend, as HTTP keep-alive and websockets do behind a real one).
 */
export async function startBalancer(health: HealthChecks): Promise<Balancer> {
  const routed = new Map<string, number>();
  const log: Array<{ at: number; target: string | null }> = [];
  const open = new Set<Socket>();
  let held: Socket[] | null = null;

  const route = (client: Socket) => {
    const target = health.pick();
    log.push({ at: Date.now(), target: target ?? null });
    if (!target) return void client.destroy();
    routed.set(target, (routed.get(target) ?? 0) + 1);
    const { hostname, port } = new URL(target);
    const upstream = netConnect(Number(port), hostname);
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.pipe(upstream).pipe(client);
  };

  const server: Server = createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    if (held) {
      client.pause();
      held.push(client);
    } else {
      route(client);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    routed,
    log,
    hold() {
      held ??= [];
    },
    release() {
      const waiting = held ?? [];
      held = null;
      for (const client of waiting) if (!client.destroyed) route(client);
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Outcome = { status: number; body: string } | { error: string };

/**
 * One HTTP request on a connection of its own (no keep-alive), so that a balancer routes each
 * request. With `dribbleMs`, the body is sent a byte at a time over that long: a slow upload,
 * in flight for that time.
 */
export function oneRequest(url: string, options: { method: string; path: string; token?: string; body?: unknown; dribbleMs?: number }): Promise<Outcome> {
  const target = new URL(options.path, url);
  const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: options.method,
        agent: false,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', (error) => resolve({ error: error.message }));
      },
    );
    req.on('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
    if (!body) return void req.end();
    if (!options.dribbleMs) return void req.end(body);
    // The headers go now: the server has the request from this moment.
    req.flushHeaders();
    // All but the last byte over `dribbleMs`, the last one at the end.
    const steps = Math.max(1, Math.min(body.length - 1, 20));
    const size = Math.ceil((body.length - 1) / steps);
    let sent = 0;
    const timer = setInterval(
      () => {
        if (sent < body.length - 1) {
          req.write(body.subarray(sent, Math.min(sent + size, body.length - 1)));
          sent = Math.min(sent + size, body.length - 1);
          return;
        }
        clearInterval(timer);
        req.end(body.subarray(body.length - 1));
      },
      options.dribbleMs / (steps + 1),
    );
  });
}
