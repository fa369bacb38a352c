import type { FastifyInstance } from 'fastify';
import authRoutes from './auth/auth.routes.js';
import usersRoutes from './users/users.routes.js';
import filesRoutes from './files/files.routes.js';
import courseRoutes from './courses/courses.routes.js';
import lessonRoutes from './lessons/lessons.routes.js';
import enrollmentRoutes from './enrollments/enrollments.routes.js';
import progressRoutes from './progress/progress.routes.js';
import dashboardRoutes from './dashboard/dashboard.routes.js';
import quizRoutes from './quizzes/quizzes.routes.js';
import attemptRoutes from './attempts/attempts.routes.js';
import overrideRoutes from './overrides/overrides.routes.js';
import certificateRoutes from './certificates/certificates.routes.js';
import launchRoutes from './live-sessions/launches.routes.js';
import liveSessionRoutes from './live-sessions/sessions.routes.js';
import { createQuizHandlers } from './attempts/attempts.socket.js';
import { createProgressHandlers } from './progress/progress.socket.js';

/** Every client event a component handles (Socket.IO and `/ws` alike); realtime adds its own (rooms, auth). */
export function componentSocketHandlers() {
  return { ...createProgressHandlers(), ...createQuizHandlers() };
}

/**
 * Every `/api` route, one encapsulated plugin per domain. Each domain folder holds its
 * `*.routes.ts` (schemas → service → reply), `*.service.ts` (queries and rules) and
 * `*.schemas.ts` (TypeBox: validation, types, OpenAPI).
 */
export default async function apiRoutes(app: FastifyInstance) {
  await app.register(authRoutes, { prefix: '/auth' });
  await app.register(usersRoutes);
  await app.register(filesRoutes);
  await app.register(courseRoutes);
  await app.register(lessonRoutes);
  await app.register(enrollmentRoutes);
  await app.register(progressRoutes);
  await app.register(dashboardRoutes);
  await app.register(quizRoutes);
  await app.register(attemptRoutes);
  await app.register(overrideRoutes);
  await app.register(certificateRoutes);
  await app.register(launchRoutes);
  await app.register(liveSessionRoutes);
}
