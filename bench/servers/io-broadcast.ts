/**
 * Scenarios 1–2 broadcast side. IPC in: `{type:'burst', room, count, event}` → out
 * `{type:'burst-sent', startedAt, endedAt}` (`process.hrtime.bigint()` stamps as strings);
 * `{type:'cpu'}` → `{type:'cpu', cpuUs}`: CPU time of this process since the last burst began
 * (asked once the clients have everything, so it covers the whole delivery).
 */
export interface Broadcaster {
  emit(room: string, event: string, payload: Record<string, unknown>): void;
}

export function listenForBursts(broadcaster: Broadcaster): void {
  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string; room: string; count: number; event: string }) => {
    if (message.type === 'cpu') {
      const cpu = process.cpuUsage(cpuStart);
      process.send!({ type: 'cpu', cpuUs: cpu.user + cpu.system });
    }
    if (message.type !== 'burst') return;
    cpuStart = process.cpuUsage();
    const startedAt = process.hrtime.bigint();
    for (let seq = 0; seq < message.count; seq++) {
      // Stamped per message: CLOCK_MONOTONIC, comparable with the clients' hrtime (see bench/run.ts).
      broadcaster.emit(message.room, message.event, {
        enrollmentId: 'bench',
        courseId: 'bench',
        studentId: 'bench',
        progressPercentage: seq,
        completedLessonsCount: seq,
        totalLessonsCount: message.count,
        status: 'active',
        seq,
        sentAt: process.hrtime.bigint().toString(),
      });
    }
    const endedAt = process.hrtime.bigint();
    process.send!({ type: 'burst-sent', startedAt: startedAt.toString(), endedAt: endedAt.toString() });
  });
}
