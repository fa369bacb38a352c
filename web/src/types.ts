// The shapes the app receives, derived from the server's own schemas (type-only imports: nothing
// of the server is bundled). The realtime events come from server/realtime/contract.ts.
import type { Static } from 'typebox';
import type { Session } from '../../server/modules/auth/auth.schemas.js';
import type { UserResponse } from '../../server/modules/users/users.schemas.js';
import type { CourseJson, EnrollmentJson, LessonJson } from '../../server/modules/learning.schemas.js';
import type { DashboardJson } from '../../server/modules/dashboard/dashboard.schemas.js';
import type { AttemptJson, SavedAnswerJson } from '../../server/modules/attempts/attempts.schemas.js';
import type { QuizJson } from '../../server/modules/quizzes/quizzes.schemas.js';
import type { CertificateJson } from '../../server/modules/certificates/certificates.schemas.js';
import type { CurrentSessionJson, LiveSessionJson } from '../../server/modules/live-sessions/sessions.schemas.js';
import type { LaunchCreatedJson, LaunchJson } from '../../server/modules/live-sessions/launches.schemas.js';

export type { Session, UserResponse, EnrollmentJson, LessonJson, CertificateJson, CurrentSessionJson, LiveSessionJson };
export type User = UserResponse;
export type Course = Static<typeof CourseJson>;
export type Dashboard = Static<typeof DashboardJson>;
export type Attempt = Static<typeof AttemptJson>;
export type SavedAnswer = Static<typeof SavedAnswerJson>;
export type Quiz = Static<typeof QuizJson>;
export type Launch = Static<typeof LaunchJson>;
export type LaunchCreated = Static<typeof LaunchCreatedJson>;

/** The outline of GET /courses/:id (a recursive schema; written out here as the server sends it). */
export interface OutlineLesson {
  id: string;
  title: string;
  slug: string;
  orderIndex: number;
  parentLessonId: string | null;
  quizId?: string | null;
  progress?: { status: string; completionPercentage: number } | null;
  children: OutlineLesson[];
}
export type CourseDetail = Course & {
  lessons: OutlineLesson[];
  enrollment: (Pick<EnrollmentJson, 'id' | 'status' | 'progressPercentage' | 'completedLessonsCount' | 'totalLessonsCount'> & { id: string }) | null;
};

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}
