/**
 * The realtime contract: every Socket.IO event in both directions and every `/ws` frame, as
 * TypeBox schemas from which the TypeScript types are derived. The server validates client
 * payloads with these schemas; front ends import the types (`import type { … } from
 * '<repo>/server/realtime/contract.js'`, which needs nothing of the server at run time) for their
 * `socket.io-client` sockets and `/ws` frames, and the tests' clients use them too.
 *
 * Over Socket.IO an event is `socket.emit(name, payload, ack)`. Over `/ws` the same payloads
 * travel in frames: the client sends `{type, id?, data}` (its `type` from `WS_FRAME_EVENTS`),
 * the server answers `{type: 'ack', id, ...ack}` and pushes `{type: <server event>, data}`.
 */
import { Type, type Static, type TSchema } from 'typebox';
import { ERROR_CODES } from '../platform/errors.js';
import { Timestamp, NullableTimestamp, Uuid } from '../platform/schemas.js';
import { EnrollmentStatus, LessonProgressStatus } from '../modules/learning.schemas.js';
import { LessonProgressBody, LessonProgressResponse } from '../modules/progress/progress.schemas.js';
import { AnswerValue, AttemptJson, SavedAnswerJson } from '../modules/attempts/attempts.schemas.js';
import { LaunchCounts, LaunchSummaryJson } from '../modules/live-sessions/launches.schemas.js';

const strict = { additionalProperties: false } as const;

// --- Acks -----------------------------------------------------------------------------------

/** An ack's error: HTTP's stable codes and messages (`server/platform/errors.ts` maps both). */
export const AckError = Type.Object({
  code: Type.Enum(ERROR_CODES),
  message: Type.String(),
  retryAfter: Type.Optional(Type.Integer({ minimum: 1, description: "Seconds to wait before sending it again (HTTP's Retry-After)" })),
});
export type AckError = Static<typeof AckError>;

/** Every ack: `{ok: true, data}` or `{ok: false, error: {code, message}}`. */
export function AckOf<T extends TSchema>(data: T) {
  return Type.Union([Type.Object({ ok: Type.Literal(true), data }), Type.Object({ ok: Type.Literal(false), error: AckError })]);
}
export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };
export type AckCallback<T> = (response: Ack<T>) => void;

// --- Client → server ------------------------------------------------------------------------

const CourseRef = Type.Object({ courseId: Uuid }, strict);
const AttemptRef = Type.Object({ attemptId: Uuid }, strict);

/**
 * Each client event: the schema its payload is validated against (the same field rules as the
 * HTTP routes) and the schema of its ack's `data`.
 */
export const clientEvents = {
  /**
   * Joins `course:<id>` (and `course:<id>:instructors` for its managers); answers how many are
   * online, the presence sequence the `presence:updated` batches continue from, and, to the
   * owner and admins only, who is online.
   */
  'course:join': {
    payload: CourseRef,
    ack: Type.Object({
      courseId: Uuid,
      onlineCount: Type.Integer({ minimum: 0 }),
      seq: Type.Integer({ minimum: 0, description: 'Apply the `presence:updated` batches with a greater `seq`' }),
      online: Type.Optional(Type.Array(Uuid, { description: 'Who is online: for the owner and admins only' })),
    }),
  },
  'course:leave': { payload: CourseRef, ack: Type.Object({ courseId: Uuid }) },
  /** `POST /lessons/:id/progress`: the HTTP body plus the lesson id, and at least one field besides it. */
  'lesson:progress': {
    payload: Type.Object({ lessonId: Uuid, ...LessonProgressBody.properties }, { ...strict, minProperties: 2 }),
    ack: LessonProgressResponse,
  },
  /** `PUT /attempts/:id/answers/:questionId`. */
  'quiz:answer': { payload: Type.Object({ attemptId: Uuid, questionId: Uuid, answer: AnswerValue }, strict), ack: SavedAnswerJson },
  /** `POST /attempts/:id/submit` without answers: the attempt with its result. */
  'quiz:submit': { payload: AttemptRef, ack: AttemptJson },
  /** `GET /attempts/:id`; a running timed attempt of the caller ticks from then on. */
  'quiz:sync': { payload: AttemptRef, ack: AttemptJson },
  /** A new access token of the same user keeps the connection beyond the old one's expiry. */
  'auth:refresh': { payload: Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, strict), ack: Type.Object({ expiresAt: Timestamp }) },
} as const satisfies Record<string, { payload: TSchema; ack: TSchema }>;

type ClientEvents = typeof clientEvents;
export type ClientEventName = keyof ClientEvents;
export type ClientEventData<E extends ClientEventName> = Static<ClientEvents[E]['payload']>;
export type ClientEventResult<E extends ClientEventName> = Static<ClientEvents[E]['ack']>;
export type ClientToServerEvents = { [E in ClientEventName]: (data: ClientEventData<E>, ack: AckCallback<ClientEventResult<E>>) => void };

// --- Server → client ------------------------------------------------------------------------

/** Every server event carries `serverNow` (ISO-8601) so clients can correct their clock. */
const stamped = { serverNow: Timestamp };

export const ProgressUpdatedPayload = Type.Object({
  ...stamped,
  enrollmentId: Uuid,
  courseId: Uuid,
  studentId: Uuid,
  progressPercentage: Type.Number(),
  completedLessonsCount: Type.Integer(),
  totalLessonsCount: Type.Integer(),
  status: EnrollmentStatus,
});
export const LessonProgressPayload = Type.Object({
  ...stamped,
  courseId: Uuid,
  lessonId: Uuid,
  studentId: Uuid,
  status: LessonProgressStatus,
  completionPercentage: Type.Number(),
});
/** A batch of net changes (each user's latest state since the previous batch), numbered by `seq`. */
export const PresenceUpdatedPayload = Type.Object({
  ...stamped,
  courseId: Uuid,
  joined: Type.Array(Uuid),
  left: Type.Array(Uuid),
  onlineCount: Type.Integer({ minimum: 0 }),
  seq: Type.Integer({ minimum: 1 }),
});
export const QuizStartedPayload = Type.Object({
  ...stamped,
  attemptId: Uuid,
  quizId: Uuid,
  studentId: Uuid,
  courseId: Uuid,
  deadline: NullableTimestamp,
  /** A launched attempt: its launch, and the whole attempt object (questions in the student's order). */
  launchId: Type.Optional(Uuid),
  attempt: Type.Optional(AttemptJson),
});
export const QuizTickPayload = Type.Object({ ...stamped, attemptId: Uuid, remainingMs: Type.Number() });
export const QuizExpiredPayload = Type.Object({
  ...stamped,
  attemptId: Uuid,
  submitUntil: Type.Union([Timestamp, Type.Null()], { description: 'The end of the submit window: later than the deadline only under `graceperiod`' }),
});
export const QuizAbandonedPayload = Type.Object({ ...stamped, attemptId: Uuid, quizId: Uuid, studentId: Uuid, courseId: Uuid });
export const QuizDeadlineChangedPayload = Type.Object({
  ...stamped,
  attemptId: Uuid,
  quizId: Uuid,
  studentId: Uuid,
  courseId: Uuid,
  deadline: Timestamp,
  submitUntil: Timestamp,
});
export const QuizGradedPayload = Type.Object({
  ...stamped,
  attemptId: Uuid,
  quizId: Uuid,
  studentId: Uuid,
  score: Type.Number(),
  maxScore: Type.Number(),
  percentage: Type.Number(),
  isPassed: Type.Boolean(),
});
export const QuizAnswerStatsPayload = Type.Object({
  ...stamped,
  quizId: Uuid,
  /** Stats of a launched quiz count only that launch's answers. */
  launchId: Type.Optional(Uuid),
  questionId: Uuid,
  distribution: Type.Record(Type.String(), Type.Integer(), {
    description: 'Option id, `true`/`false` or normalised text → how many running attempts chose it',
  }),
});
export const SessionQuizLaunchedPayload = Type.Object({ ...stamped, courseId: Uuid, launchId: Uuid, quizId: Uuid, closesAt: Timestamp });
export const SessionQuizClosedPayload = Type.Object({ ...stamped, courseId: Uuid, launchId: Uuid });
export const SessionLaunchCountsPayload = Type.Object({ ...stamped, courseId: Uuid, launchId: Uuid, counts: LaunchCounts });
export const SessionLaunchSummaryPayload = Type.Object({ ...stamped, courseId: Uuid, launchId: Uuid, summary: LaunchSummaryJson });
export const CertificateIssuedPayload = Type.Object({ ...stamped, certificateNumber: Type.String(), courseId: Uuid, pdfUrl: Type.String() });
export const SessionStartedPayload = Type.Object({ ...stamped, sessionId: Uuid, courseId: Uuid });
export const SessionLessonPayload = Type.Object({
  ...stamped,
  sessionId: Uuid,
  courseId: Uuid,
  lessonId: Type.Union([Uuid, Type.Null()], { description: 'The lesson to follow; null when the instructor cleared it' }),
});
export const SessionEndedPayload = Type.Object({ ...stamped, sessionId: Uuid, courseId: Uuid });
const RegradeCounts = {
  regradeId: Uuid,
  quizId: Uuid,
  courseId: Uuid,
  total: Type.Integer({ description: 'Graded attempts the regrade goes through' }),
  processed: Type.Integer(),
  changed: Type.Integer({ description: 'Attempts whose score, maximum, percentage or pass changed' }),
};
export const QuizRegradeProgressPayload = Type.Object({ ...stamped, ...RegradeCounts });
export const QuizRegradeSummaryPayload = Type.Object({
  ...stamped,
  ...RegradeCounts,
  keyVersion: Type.Integer(),
  status: Type.Union([Type.Literal('done'), Type.Literal('failed')]),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why it failed; asking for the regrade again resumes it' }),
});
export const QuizRegradedPayload = Type.Object({
  ...stamped,
  attemptId: Uuid,
  quizId: Uuid,
  courseId: Uuid,
  studentId: Uuid,
  score: Type.Number(),
  maxScore: Type.Number(),
  percentage: Type.Number(),
  isPassed: Type.Boolean(),
  previous: Type.Object({ score: Type.Number(), percentage: Type.Number(), isPassed: Type.Boolean() }),
});

/** Each server event and the schema of its payload. Who hears which: `server/realtime/publisher.ts`. */
export const serverEvents = {
  'progress:updated': ProgressUpdatedPayload,
  'lesson:progress': LessonProgressPayload,
  'presence:updated': PresenceUpdatedPayload,
  'quiz:started': QuizStartedPayload,
  /** Volatile: dropped rather than queued or replayed. */
  'quiz:tick': QuizTickPayload,
  'quiz:expired': QuizExpiredPayload,
  'quiz:deadline-changed': QuizDeadlineChangedPayload,
  'quiz:abandoned': QuizAbandonedPayload,
  'quiz:graded': QuizGradedPayload,
  'quiz:answer-stats': QuizAnswerStatsPayload,
  'certificate:issued': CertificateIssuedPayload,
  /** To `course:<id>`: a quiz was launched to the room. */
  'session:quiz-launched': SessionQuizLaunchedPayload,
  /** To `course:<id>`: the launch's shared window ended (closed, or `closesAt` passed). */
  'session:quiz-closed': SessionQuizClosedPayload,
  /** To the instructors, at most 4 per second per launch. */
  'session:launch-counts': SessionLaunchCountsPayload,
  /** To the instructors, once, when the launch's last attempt is finished. */
  'session:launch-summary': SessionLaunchSummaryPayload,
  /** A live session of the course started (§6): to `course:<id>`. */
  'session:started': SessionStartedPayload,
  /** "Follow me": the lesson everyone in the live session should look at. */
  'session:lesson': SessionLessonPayload,
  /** The live session ended (by an instructor, or by the sweep after it was idle). */
  'session:ended': SessionEndedPayload,
  /** A regrade's counters (§8), at most a few times a second per regrade: to the instructors. */
  'quiz:regrade-progress': QuizRegradeProgressPayload,
  /** A regrade ended (done or failed): to the instructors. */
  'quiz:regrade-summary': QuizRegradeSummaryPayload,
  /** A regrade changed this attempt's result: to its student. */
  'quiz:regraded': QuizRegradedPayload,
} as const satisfies Record<string, TSchema>;

type ServerEvents = typeof serverEvents;
export type ServerEventName = keyof ServerEvents;
export type ServerEventPayload<E extends ServerEventName> = Static<ServerEvents[E]>;
export type ServerToClientEvents = { [E in ServerEventName]: (payload: ServerEventPayload<E>) => void };
/** What the publisher hands to the emitter; the emitter stamps `serverNow`. */
export type EventData<E extends ServerEventName> = Omit<ServerEventPayload<E>, 'serverNow'>;

export type ProgressUpdatedPayload = Static<typeof ProgressUpdatedPayload>;
export type LessonProgressPayload = Static<typeof LessonProgressPayload>;
export type PresenceUpdatedPayload = Static<typeof PresenceUpdatedPayload>;
export type QuizStartedPayload = Static<typeof QuizStartedPayload>;
export type QuizTickPayload = Static<typeof QuizTickPayload>;
export type QuizExpiredPayload = Static<typeof QuizExpiredPayload>;
export type QuizGradedPayload = Static<typeof QuizGradedPayload>;
export type QuizAbandonedPayload = Static<typeof QuizAbandonedPayload>;
export type QuizDeadlineChangedPayload = Static<typeof QuizDeadlineChangedPayload>;
export type QuizAnswerStatsPayload = Static<typeof QuizAnswerStatsPayload>;
export type CertificateIssuedPayload = Static<typeof CertificateIssuedPayload>;
export type SessionQuizLaunchedPayload = Static<typeof SessionQuizLaunchedPayload>;
export type SessionQuizClosedPayload = Static<typeof SessionQuizClosedPayload>;
export type SessionLaunchCountsPayload = Static<typeof SessionLaunchCountsPayload>;
export type SessionLaunchSummaryPayload = Static<typeof SessionLaunchSummaryPayload>;
export type SessionStartedPayload = Static<typeof SessionStartedPayload>;
export type SessionLessonPayload = Static<typeof SessionLessonPayload>;
export type SessionEndedPayload = Static<typeof SessionEndedPayload>;
export type QuizRegradeProgressPayload = Static<typeof QuizRegradeProgressPayload>;
export type QuizRegradeSummaryPayload = Static<typeof QuizRegradeSummaryPayload>;
export type QuizRegradedPayload = Static<typeof QuizRegradedPayload>;

/** Room names: a user's own connections, a course's members, a course's managers. */
export const rooms = {
  user: (userId: string) => `user:${userId}`,
  course: (courseId: string) => `course:${courseId}`,
  instructors: (courseId: string) => `course:${courseId}:instructors`,
};

// --- The plain WebSocket endpoint `/ws` -----------------------------------------------------

/** `/ws` frame types → the client event they run (same payload, same ack). */
export const WS_FRAME_EVENTS = {
  subscribe: 'course:join',
  unsubscribe: 'course:leave',
  auth: 'auth:refresh',
  'lesson:progress': 'lesson:progress',
  'quiz:answer': 'quiz:answer',
  'quiz:submit': 'quiz:submit',
  'quiz:sync': 'quiz:sync',
  'auth:refresh': 'auth:refresh',
} as const satisfies Record<string, ClientEventName>;
export type WsFrameType = keyof typeof WS_FRAME_EVENTS;

/** A frame id: the client's, echoed in the ack; `null` in the ack of a frame without one. */
export const WsFrameId = Type.Union([Type.String(), Type.Number()]);

/** A client frame of one type: `{type, id?, data}`, `data` the payload of its client event. */
export function WsClientFrameOf<T extends WsFrameType>(type: T) {
  return Type.Object({ type: Type.Literal(type), id: Type.Optional(WsFrameId), data: clientEvents[WS_FRAME_EVENTS[type]].payload });
}
export type WsClientFrame = { [T in WsFrameType]: { type: T; id?: string | number; data: ClientEventData<(typeof WS_FRAME_EVENTS)[T]> } }[WsFrameType];

/**
 * The first frame of a connection opened without `?token=`. Its ack's data is
 * `WsAuthAckData`; an `auth` frame on an authenticated connection is `auth:refresh`.
 */
export const WsAuthFrame = WsClientFrameOf('auth');
export const WsAuthAckData = Type.Object({ userId: Uuid, expiresAt: Timestamp });
export type WsAuthAckData = Static<typeof WsAuthAckData>;

/** The ack frame of a client frame whose ack's data is `data`. */
export function WsAckFrameOf<T extends TSchema>(data: T) {
  const head = { type: Type.Literal('ack'), id: Type.Union([WsFrameId, Type.Null()]) };
  return Type.Union([Type.Object({ ...head, ok: Type.Literal(true), data }), Type.Object({ ...head, ok: Type.Literal(false), error: AckError })]);
}
/** Any ack frame (a frame that is not JSON or has an unknown type is acked with `VALIDATION_ERROR`). */
export const WsAckFrame = WsAckFrameOf(Type.Unknown());
export type WsAckFrame<T = unknown> = { type: 'ack'; id: string | number | null } & Ack<T>;

/** A server event as a `/ws` frame. */
export type WsEventFrame = { [E in ServerEventName]: { type: E; data: ServerEventPayload<E> } }[ServerEventName];
/** Every frame the server sends on `/ws`. */
export type WsServerFrame = WsAckFrame | WsEventFrame;

/** `/ws` close codes. */
export const WS_CLOSE = {
  /** No valid token (none, bad, expired, revoked, session ended). */
  UNAUTHORIZED: 4401,
  /** Over a limit: connections per IP, or per user on one instance. */
  RATE_LIMITED: 4429,
  /** The standard code for a server that cannot serve now (PostgreSQL away during authentication): retry. */
  TRY_AGAIN_LATER: 1013,
  /** The standard code for a restart: reconnect (through the balancer, to another instance). */
  SERVICE_RESTART: 1012,
} as const;
