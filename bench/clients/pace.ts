/**
 * Paced sending for the load clients of scenarios 6–7: item `i` is due at `startAt + offsetsMs[i]`
 * (`startAt` an hrtime stamp the scenario picks, so several client processes share one
 * schedule: CLOCK_MONOTONIC is one clock for the machine). Sleeps between due times, sends
 * whatever is due, and stops at the last item or `timeoutMs` past the schedule's end, whichever
 * comes first. Returns how many were sent and how late the latest send was against its schedule
 * (a client that cannot keep up shows here, not as server latency: stamps are taken at send).
 */
const sleep = (ms: number) => new Promise<void>((resolve) => (ms >= 1 ? setTimeout(resolve, ms) : setImmediate(resolve)));

export async function pace(
  startAt: bigint,
  offsetsMs: number[],
  send: (index: number) => void,
  timeoutMs: number,
): Promise<{ sent: number; maxLagMs: number }> {
  const due = (index: number) => startAt + BigInt(Math.round(offsetsMs[index]! * 1e6));
  const limit = (offsetsMs.length ? due(offsetsMs.length - 1) : startAt) + BigInt(timeoutMs) * 1_000_000n;
  let next = 0;
  let maxLagNs = 0n;
  // Each pass either sends or sleeps until the next due time, so passes are bounded by the item count plus the sleeps.
  for (let passes = 0; next < offsetsMs.length && passes < 100 * offsetsMs.length + 1_000_000; passes++) {
    let now = process.hrtime.bigint();
    if (now > limit) break;
    while (next < offsetsMs.length && now >= due(next)) {
      if (now - due(next) > maxLagNs) maxLagNs = now - due(next);
      send(next++);
      now = process.hrtime.bigint();
    }
    if (next < offsetsMs.length) await sleep(Math.floor(Number(due(next) - process.hrtime.bigint()) / 1e6));
  }
  return { sent: next, maxLagMs: Number(maxLagNs) / 1e6 };
}
