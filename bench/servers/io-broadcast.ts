/**
 * Scenarios 1–2 broadcast side. IPC in: `{type:'burst', room, count, event}` → out
 * `{type:'burst-sent', startedAt, endedAt}` (`process.hrtime.bigint()` stamps as strings);
 * `{type:'paced', room, count, event, perSecond}` → the same messages spread evenly, message
 * `seq` due at `start + seq / perSecond` (scheduled from the hrtime start, so timer lateness does
 * not accumulate), then `{type:'paced-sent', startedAt, endedAt}`;
 * `{type:'cpu'}` → `{type:'cpu', cpuUs}`: CPU time of this process since the last burst began
 * (asked once the clients have everything, so it covers the whole delivery).
 */
export interface Broadcaster {
  emit(room: string, event: string, payload: Record<string, unknown>): void;
}

/**
 * What the broadcasters send: a `progress:updated`-shaped payload (the size of a real one) with
 * the message's `seq` and its `sentAt` stamp, plus `extra` fields a scenario tracks.
 */
export function benchPayload(seq: number, count: number, sentAt: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    enrollmentId: 'bench',
    courseId: 'bench',
    studentId: 'bench',
    progressPercentage: seq,
    completedLessonsCount: seq,
    totalLessonsCount: count,
    status: 'active',
    ...extra,
    seq,
    sentAt,
  };
}

export function listenForBursts(broadcaster: Broadcaster): void {
  let cpuStart = process.cpuUsage();
  // Stamped per message: CLOCK_MONOTONIC, comparable with the clients' hrtime (see bench/run.ts).
  const send = (message: { room: string; count: number; event: string }, seq: number) =>
    broadcaster.emit(message.room, message.event, benchPayload(seq, message.count, process.hrtime.bigint().toString()));
  process.on('message', (message: { type?: string; room: string; count: number; event: string; perSecond?: number }) => {
    if (message.type === 'cpu') {
      const cpu = process.cpuUsage(cpuStart);
      process.send!({ type: 'cpu', cpuUs: cpu.user + cpu.system });
    }
    if (message.type === 'paced') return void paced(message, message.perSecond ?? 1);
    if (message.type !== 'burst') return;
    cpuStart = process.cpuUsage();
    const startedAt = process.hrtime.bigint();
    for (let seq = 0; seq < message.count; seq++) send(message, seq);
    const endedAt = process.hrtime.bigint();
    process.send!({ type: 'burst-sent', startedAt: startedAt.toString(), endedAt: endedAt.toString() });
  });

  function paced(message: { room: string; count: number; event: string }, perSecond: number) {
    cpuStart = process.cpuUsage();
    const startedAt = process.hrtime.bigint();
    const periodNs = 1e9 / perSecond;
    let seq = 0;
    const next = () => {
      // Everything due by now goes out (a late timer catches up rather than stretching the run).
      while (seq < message.count && Number(process.hrtime.bigint() - startedAt) >= seq * periodNs) send(message, seq++);
      if (seq < message.count) {
        setTimeout(next, Math.max(0, (seq * periodNs - Number(process.hrtime.bigint() - startedAt)) / 1e6));
        return;
      }
      process.send!({ type: 'paced-sent', startedAt: startedAt.toString(), endedAt: process.hrtime.bigint().toString() });
    };
    next();
  }
}
