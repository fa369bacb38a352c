export interface TimedAttempt {
  attemptId: string;
  studentId: string;
  deadline: Date;
  /**
   * Its launch: the attempts of a launch with the same deadline (its shared close; a personal
   * deadline makes a group of its own) tick together, one `quiz:tick {launchId}` per pass.
   */
  launchId?: string;
}

interface Entry {
  attemptId: string;
  studentId: string;
  deadlineMs: number;
  nextTickAt: number;
  /** Ticks with the attempts of this launch that have the same deadline. */
  launchId: string | null;
}

/** One tick of a launch's deadline: the students here whose attempt of the launch has it hear one `quiz:tick {launchId}`. */
export interface LaunchTick {
  launchId: string;
  studentIds: string[];
  remainingMs: number;
}

/** One tick of an attempt: the publisher turns it into a volatile `quiz:tick` to the student. */
export interface AttemptTick {
  attemptId: string;
  studentId: string;
  remainingMs: number;
}

export interface QuizTickSchedulerOptions {
  /** Called for each tick that is due (the publisher's `attemptTicked`). */
  onTick(tick: AttemptTick): void;
  /**
   * Called once per pass for each launch and deadline that ticks (the publisher's
   * `launchTicked`), instead of `onTick` for each of its attempts. Without it they tick one by one.
   */
  onLaunchTick?(tick: LaunchTick): void;
  /**
   * Whether the student still has a connection on this instance; an attempt of a student who
   * has none is untracked at the next pass, before it ticks or reaches its deadline.
   */
  isConnected?(studentId: string): boolean;
  /** Called once when a tracked attempt reaches its deadline (it is untracked first). */
  onDeadline(attempt: TimedAttempt): void;
  /** How often due ticks are looked for (on multiples of it of `now()`). @defaultValue 100 */
  resolutionMs?: number;
  now?: () => number;
}

/**
 * The ticks (`quiz:tick`, emitted by the publisher) of the open timed attempts of students connected to this instance: one timer
 * over all of them (not one per attempt), running only while there is something to tick.
 * Ticks are derived from the deadline (`remainingMs = deadline − now`) and aligned to whole
 * seconds before it, so any instance the student reconnects to ticks the same way. They are
 * volatile and local: never stored for recovery, never sent through the adapter.
 */
export class QuizTickScheduler {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private readonly resolutionMs: number;
  private readonly now: () => number;

  constructor(private readonly options: QuizTickSchedulerOptions) {
    this.resolutionMs = options.resolutionMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts ticking an attempt (idempotent); the first tick goes out on the next run, or for a
   * launch's attempt on the next whole second of its deadline. A tracked attempt whose deadline
   * moved ticks on the next run, then on the new deadline's seconds.
   */
  track(attempt: TimedAttempt): void {
    const existing = this.entries.get(attempt.attemptId);
    if (existing) {
      const deadlineMs = attempt.deadline.getTime();
      if (existing.deadlineMs !== deadlineMs) {
        existing.deadlineMs = deadlineMs;
        existing.nextTickAt = 0;
      }
      return;
    }
    const deadlineMs = attempt.deadline.getTime();
    this.entries.set(attempt.attemptId, {
      attemptId: attempt.attemptId,
      studentId: attempt.studentId,
      deadlineMs,
      // A launch starts thousands of attempts within a second or two: each first tick at once
      // would be one more frame to every student while the class's quiz:started (which carry the
      // deadline) are still going out. Its attempts tick on the whole seconds of their deadline
      // only, the first one included, together: at most a second after the start.
      nextTickAt: attempt.launchId ? deadlineMs - 1000 * Math.floor((deadlineMs - this.now()) / 1000) : 0,
      launchId: attempt.launchId ?? null,
    });
    this.start();
  }

  untrack(attemptId: string): void {
    this.entries.delete(attemptId);
    if (this.entries.size === 0) this.stop();
  }

  /** The student's last socket here went away. */
  untrackStudent(studentId: string): void {
    for (const entry of this.entries.values()) if (entry.studentId === studentId) this.entries.delete(entry.attemptId);
    if (this.entries.size === 0) this.stop();
  }

  isTracking(attemptId: string): boolean {
    return this.entries.has(attemptId);
  }

  close(): void {
    this.entries.clear();
    this.stop();
  }

  /** One pass: ticks what is due, hands expired attempts to `onDeadline`. */
  run(): void {
    const now = this.now();
    // launchId + deadline → the students of that launch ticking in this pass.
    let launches: Map<string, LaunchTick> | null = null;
    // Deleting the entry being visited is safe while iterating a Map; no copy per pass.
    for (const entry of this.entries.values()) {
      const remaining = entry.deadlineMs - now;
      if (remaining > 0 && now < entry.nextTickAt) continue;
      // Only for attempts that tick or expire in this pass: a pass comes every 100 ms, a tick once a second.
      if (this.options.isConnected && !this.options.isConnected(entry.studentId)) {
        this.entries.delete(entry.attemptId);
        continue;
      }
      if (remaining <= 0) {
        this.entries.delete(entry.attemptId);
        this.options.onDeadline({ attemptId: entry.attemptId, studentId: entry.studentId, deadline: new Date(entry.deadlineMs) });
        continue;
      }
      if (entry.launchId !== null && this.options.onLaunchTick) {
        launches ??= new Map();
        const key = `${entry.launchId}@${entry.deadlineMs}`;
        const tick = launches.get(key);
        if (tick) tick.studentIds.push(entry.studentId);
        else launches.set(key, { launchId: entry.launchId, studentIds: [entry.studentId], remainingMs: remaining });
      } else {
        this.options.onTick({ attemptId: entry.attemptId, studentId: entry.studentId, remainingMs: remaining });
      }
      // Next tick when the remaining time crosses the next whole second (the last one is the deadline).
      entry.nextTickAt = entry.deadlineMs - 1000 * (Math.ceil(remaining / 1000) - 1);
    }
    if (launches) for (const tick of launches.values()) this.options.onLaunchTick!(tick);
    if (this.entries.size === 0) this.stop();
  }

  private start() {
    if (this.timer) return;
    // Each pass is due on the next multiple of `resolutionMs` of the clock rather than
    // `resolutionMs` after the last one: an interval timer drifts by its lateness every pass, so an
    // attempt's ticks crept later behind their whole seconds until one slipped back a whole pass
    // (an interval of ~900 ms every few tens of seconds; bench/scenarios/classroom.ts). Aligned passes
    // keep each attempt's ticks a constant distance behind its seconds: 1 s apart.
    const now = this.now();
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.run();
        if (this.entries.size > 0) this.start();
      },
      this.resolutionMs - (now % this.resolutionMs),
    );
    this.timer.unref();
  }

  private stop() {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
  }
}
