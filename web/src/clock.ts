import { useEffect, useState } from 'preact/hooks';

/**
 * The server's clock as seen from here: every response and event carries `serverNow`, and the
 * offset from the device clock is kept, so countdowns do not depend on a wrong device clock.
 */
let offsetMs = 0;

export function observeServerNow(serverNow: string | undefined): void {
  if (!serverNow) return;
  const server = Date.parse(serverNow);
  if (Number.isFinite(server)) offsetMs = server - Date.now();
}

export function serverNowMs(): number {
  return Date.now() + offsetMs;
}

/** Milliseconds left until `deadline` by the server's clock, re-rendered every 250 ms. */
export function useRemainingMs(deadline: string | null | undefined): number | null {
  const compute = () => (deadline ? Math.max(0, Date.parse(deadline) - serverNowMs()) : null);
  const [remaining, setRemaining] = useState(compute);
  useEffect(() => {
    setRemaining(compute());
    if (!deadline) return;
    const timer = setInterval(() => setRemaining(compute()), 250);
    return () => clearInterval(timer);
  }, [deadline]);
  return remaining;
}

export function formatRemaining(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, '0')}`;
}
