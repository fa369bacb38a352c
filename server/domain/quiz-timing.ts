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

// --- The overdue policy (SPEC §7) -----------------------------------------------------------

/** What the server does with an attempt left running past its deadline; copied onto the attempt at start. */
export type OverdueHandling = 'autosubmit' | 'graceperiod' | 'autoabandon';

export interface OverduePolicy {
  overdueHandling: OverdueHandling;
  /** Only meaningful under `graceperiod`: how long after the deadline a submit is still taken. */
  gracePeriodSeconds: number;
}

/** The longest grace period a quiz may give (a day). */
export const MAX_GRACE_PERIOD_SECONDS = 86_400;

/** Why a policy cannot be stored, or null: `graceperiod` needs a positive grace, and it is bounded. */
export function overduePolicyError(policy: OverduePolicy): string | null {
  if (!Number.isInteger(policy.gracePeriodSeconds) || policy.gracePeriodSeconds < 0 || policy.gracePeriodSeconds > MAX_GRACE_PERIOD_SECONDS) {
    return `gracePeriodSeconds must be an integer from 0 to ${MAX_GRACE_PERIOD_SECONDS}`;
  }
  if (policy.overdueHandling === 'graceperiod' && policy.gracePeriodSeconds === 0) return 'overdueHandling graceperiod requires gracePeriodSeconds > 0';
  return null;
}

/** The end of the submit window the policy gives: deadline + grace under `graceperiod`, the deadline otherwise. */
export function submitUntil(deadline: Date | null, policy: OverduePolicy): Date | null {
  if (deadline === null) return null;
  return policy.overdueHandling === 'graceperiod' ? new Date(deadline.getTime() + policy.gracePeriodSeconds * 1000) : deadline;
}

/**
 * Whether a student's submit is still taken: until the end of the submit window plus the network
 * grace. After that the server finishes the attempt by its policy (`finishingAction`).
 */
export function submitWindowOpen(window: { deadline: Date | null; submitUntil: Date | null }, now: Date, graceMs: number): boolean {
  return !isExpired(window.submitUntil ?? window.deadline, now, graceMs);
}

/** Whether answers (saved, or carried by a submit) still count: until the deadline plus the network grace. */
export function answersAccepted(deadline: Date | null, now: Date, graceMs: number): boolean {
  return !isExpired(deadline, now, graceMs);
}

/**
 * What finishing an attempt left open means: `autosubmit` grades its saved answers; the others
 * abandon it (never graded). A launched attempt without a saved answer is abandoned whatever the
 * policy (`launchedWithoutAnswers`): the student may never have seen it.
 */
export function finishingAction(
  handling: OverdueHandling,
  attempt: { launched: boolean; answered: boolean } = { launched: false, answered: true },
): 'grade' | 'abandon' {
  if (launchedWithoutAnswers(attempt)) return 'abandon';
  return handling === 'autosubmit' ? 'grade' : 'abandon';
}

/**
 * A launched attempt that ends with no saved answer (SPEC §6): abandoned when finished, and not
 * counted against `maxAttempts` (SQL twin: `COUNTED_ATTEMPT` in attempts.queries.ts).
 */
export function launchedWithoutAnswers(attempt: { launched: boolean; answered: boolean }): boolean {
  return attempt.launched && !attempt.answered;
}

/** The bounds of one deadline change (`POST /attempts/:id/extend`): a week either way. */
export const MAX_DEADLINE_CHANGE_SECONDS = 7 * 86_400;

/** Why a deadline change in seconds is refused, or null: a non-zero integer within a week either way. */
export function deadlineChangeError(seconds: number): string | null {
  if (!Number.isInteger(seconds) || seconds === 0 || Math.abs(seconds) > MAX_DEADLINE_CHANGE_SECONDS) {
    return `seconds must be a non-zero integer between -${MAX_DEADLINE_CHANGE_SECONDS} and ${MAX_DEADLINE_CHANGE_SECONDS}`;
  }
  return null;
}
