/** The time-limit settings of a quiz; seconds win over minutes when both are set. */
export interface TimeLimit {
  timeLimitSeconds?: number | null;
  timeLimitMinutes?: number | null;
}

export function timeLimitMs(quiz: TimeLimit): number | null {
  if (quiz.timeLimitSeconds) return quiz.timeLimitSeconds * 1000;
  if (quiz.timeLimitMinutes) return quiz.timeLimitMinutes * 60_000;
  return null;
}

/** `startedAt` + the time limit, fixed when the attempt starts; null for untimed quizzes. */
export function attemptDeadline(startedAt: Date, quiz: TimeLimit): Date | null {
  const limit = timeLimitMs(quiz);
  return limit === null ? null : new Date(startedAt.getTime() + limit);
}

/** Answers are still taken until the deadline plus the network grace. */
export function isExpired(deadline: Date | null, now: Date, graceMs: number): boolean {
  return deadline !== null && now.getTime() > deadline.getTime() + graceMs;
}

export function remainingMs(deadline: Date, now: Date): number {
  return Math.max(0, deadline.getTime() - now.getTime());
}
