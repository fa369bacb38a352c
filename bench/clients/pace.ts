/**
 * Paced sending for the load clients of scenarios 6–7: item `i` is due at `startAt + offsetsMs[i]`
 * (`startAt` an hrtime stamp the scenario picks, so several client processes share one
 * schedule: CLOCK_MONOTONIC is one clock for the machine). Sleeps between due times, sends
 * whatever is due, and stops at the last item or `timeoutMs` past the schedule's end, whichever
 * comes first. Returns how many were sent and how late the latest send was against its schedule
 * (a client that cannot keep up shows here, not as server latency: stamps are taken at send).
 * `wait` is how it sleeps (tests make it return at once).
 */
const sleep = (ms: number) => new Promise<void>((resolve) => (ms >= 1 ? setTimeout(resolve, ms) : setImmediate(resolve)));

export async function pace(
  startAt: bigint,
  offsetsMs: number[],
  send: (index: number) => void,
  timeoutMs: number,
  wait: (ms: number) => Promise<void> = sleep,
): Promise<{ sent: number; maxLagMs: number }> {
  const due = (index: number) => startAt + BigInt(Math.round(offsetsMs[index]! * 1e6));
  const limit = (offsetsMs.length ? due(offsetsMs.length - 1) : startAt) + BigInt(timeoutMs) * 1_000_000n;
  let next = 0;
  let maxLagNs = 0n;
  // Ends by the clock (`limit`), not by a count of passes: the last millisecond before each due
  // time is spent in `setImmediate` turns, about a thousand of them per item, so a cap on passes
  // (there was one, 100 per item + 1,000,000) cut long schedules short: 2,000 items 5 ms apart
  // stopped after about 1,150 on an idle machine, and scenario 7 counted the writes never sent
  // as lost events.
  while (next < offsetsMs.length) {
    let now = process.hrtime.bigint();
    if (now > limit) break;
    while (next < offsetsMs.length && now >= due(next)) {
      if (now - due(next) > maxLagNs) maxLagNs = now - due(next);
      send(next++);
      now = process.hrtime.bigint();
    }
    if (next < offsetsMs.length) await wait(Math.floor(Number(due(next) - process.hrtime.bigint()) / 1e6));
  }
  return { sent: next, maxLagMs: Number(maxLagNs) / 1e6 };
}
