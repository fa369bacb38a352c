/**
 * What the load clients share: opening thousands of connections in bounded batches (all at once,
 * the server's accept queue and the handshakes' timeouts give way) and `course:join` with its ack.
 */
import type { Socket } from 'socket.io-client';

/** Connections opened at once. */
const BATCH = 100;

/** Runs `open` for every item, `BATCH` at a time; rejects with the first failure. */
export async function inBatches<T>(items: readonly T[], open: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += BATCH) await Promise.all(items.slice(start, start + BATCH).map(open));
}

/** `course:join` with the app's ack; rejects when refused or unanswered within 20 s. */
export function joinCourse(socket: Socket, courseId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.timeout(20_000).emit('course:join', { courseId }, (error: Error | null, ack: { ok: boolean; error?: unknown }) => {
      if (error || !ack.ok) reject(new Error(`course:join refused: ${JSON.stringify(error?.message ?? ack.error)}`));
      else resolve();
    });
  });
}
