import { EventEmitter } from 'node:events';
import fp from 'fastify-plugin';

/** What happened to a course's audience, for whoever must react at once (Socket.IO rooms, presence). */
export interface CourseEventMap {
  /** A student dropped its enrollment: it no longer belongs in the course's rooms. */
  enrollmentDropped: [{ courseId: string; studentId: string }];
  /** A published course went back to draft: only its managers (owner, admins) may stay in its rooms. */
  unpublished: [{ courseId: string }];
  /** A listener threw or rejected; logged by the plugin. */
  error: [unknown];
}

export type CourseEvents = EventEmitter<CourseEventMap>;

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Emitted by the services in the process that made the change, after it committed. Listeners
     * that must reach other instances do so themselves (the realtime layer, through the Socket.IO
     * adapter). Listener errors are caught and logged, never thrown at the caller.
     */
    courseEvents: CourseEvents;
  }
}

export default fp(
  async (app) => {
    const events: CourseEvents = new EventEmitter<CourseEventMap>({ captureRejections: true });
    events.on('error', (error) => app.log.error({ err: error }, 'course event listener failed'));
    app.decorate('courseEvents', events);
    app.addHook('onClose', async () => {
      events.removeAllListeners();
    });
  },
  { name: 'course-events' },
);

/** Emits without ever throwing at the service that reports the change (it has committed). */
export function reportCourseEvent<K extends 'enrollmentDropped' | 'unpublished'>(events: CourseEvents | undefined, name: K, ...args: CourseEventMap[K]): void {
  if (!events) return;
  try {
    (events.emit as (name: K, ...args: CourseEventMap[K]) => boolean)(name, ...args);
  } catch (error) {
    if (events.listenerCount('error') > 0) events.emit('error', error);
  }
}
