/**
 * The realtime contract (SPEC §3), typed once for the server and for clients: front ends import
 * these types for their `socket.io-client` sockets, and the tests' clients use them too.
 * The plain WebSocket endpoint `/ws` carries the same event names and payloads.
 */
import type { EnrollmentStatus, LessonProgressStatus } from '../../entities/enums.js';
import type { ErrorCode } from '../platform/errors.js';

/** Every ack: `{ok: true, data}` or `{ok: false, error: {code, message}}` with HTTP's codes. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: { code: ErrorCode; message: string } };
export type AckCallback<T> = (response: Ack<T>) => void;

/** Every server event carries `serverNow` (ISO-8601) so clients can correct their clock. */
interface Stamped {
  serverNow: string;
}

export interface ProgressUpdatedPayload extends Stamped {
  enrollmentId: string;
  courseId: string;
  studentId: string;
  progressPercentage: number;
  completedLessonsCount: number;
  totalLessonsCount: number;
  status: EnrollmentStatus;
}

export interface LessonProgressPayload extends Stamped {
  courseId: string;
  lessonId: string;
  studentId: string;
  status: LessonProgressStatus;
  completionPercentage: number;
}

export interface PresenceUpdatedPayload extends Stamped {
  courseId: string;
  joined: string[];
  left: string[];
}

export interface QuizStartedPayload extends Stamped {
  attemptId: string;
  quizId: string;
  studentId: string;
  deadline: string | null;
}

export interface QuizTickPayload extends Stamped {
  attemptId: string;
  remainingMs: number;
}

export interface QuizExpiredPayload extends Stamped {
  attemptId: string;
}

export interface QuizGradedPayload extends Stamped {
  attemptId: string;
  quizId: string;
  studentId: string;
  score: number;
  maxScore: number;
  percentage: number;
  isPassed: boolean;
}

export interface QuizAnswerStatsPayload extends Stamped {
  quizId: string;
  questionId: string;
  /** Option id, `true`/`false` or normalised text → how many running attempts chose it. */
  distribution: Record<string, number>;
}

export interface CertificateIssuedPayload extends Stamped {
  certificateNumber: string;
  courseId: string;
  pdfUrl: string;
}

export interface ServerToClientEvents {
  'progress:updated': (payload: ProgressUpdatedPayload) => void;
  'lesson:progress': (payload: LessonProgressPayload) => void;
  'presence:updated': (payload: PresenceUpdatedPayload) => void;
  'quiz:started': (payload: QuizStartedPayload) => void;
  'quiz:tick': (payload: QuizTickPayload) => void;
  'quiz:expired': (payload: QuizExpiredPayload) => void;
  'quiz:graded': (payload: QuizGradedPayload) => void;
  'quiz:answer-stats': (payload: QuizAnswerStatsPayload) => void;
  'certificate:issued': (payload: CertificateIssuedPayload) => void;
}

export type ServerEventName = keyof ServerToClientEvents;
export type ServerEventPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];
/** What a service hands to the emitter; the emitter stamps `serverNow`. */
export type EventData<E extends ServerEventName> = Omit<ServerEventPayload<E>, 'serverNow'>;

export interface ClientToServerEvents {
  'course:join': (data: { courseId: string }, ack: AckCallback<{ courseId: string; online: string[] }>) => void;
  'course:leave': (data: { courseId: string }, ack: AckCallback<{ courseId: string }>) => void;
  'lesson:progress': (
    data: { lessonId: string; status?: LessonProgressStatus; completionPercentage?: number; timeSpentSecondsDelta?: number; clientKey?: string },
    ack: AckCallback<unknown>,
  ) => void;
  'quiz:answer': (data: { attemptId: string; questionId: string; answer: unknown }, ack: AckCallback<unknown>) => void;
  'quiz:submit': (data: { attemptId: string }, ack: AckCallback<unknown>) => void;
  'quiz:sync': (data: { attemptId: string }, ack: AckCallback<unknown>) => void;
  'auth:refresh': (data: { token: string }, ack: AckCallback<{ expiresAt: string }>) => void;
}

/** Room names (SPEC §3). */
export const rooms = {
  user: (userId: string) => `user:${userId}`,
  course: (courseId: string) => `course:${courseId}`,
  instructors: (courseId: string) => `course:${courseId}:instructors`,
};

/**
 * How services publish events without knowing about Socket.IO: the realtime layer implements
 * it (locally for one instance, through the Redis adapter across many). `volatile` events are
 * dropped rather than buffered or replayed (ticks).
 */
export interface RealtimeEmitter {
  emit<E extends ServerEventName>(to: string | string[], event: E, data: EventData<E>, options?: { volatile?: boolean }): void;
}
