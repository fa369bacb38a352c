import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, describeError } from '../api.js';
import { emit, onServerEvent, resyncs } from '../live.js';
import { useStore } from '../store.js';
import type { Attempt, CourseDetail, CurrentSessionJson, OutlineLesson } from '../types.js';
import { Notice, ProgressBar } from './common.js';
import { QuizRunner } from './quiz-runner.js';

function Outline({ courseId, lessons, followed }: { courseId: string; lessons: OutlineLesson[]; followed: string | null }) {
  return (
    <ol class="outline">
      {lessons.map((lesson) => (
        <li key={lesson.id} class={lesson.id === followed ? 'followed' : ''}>
          <a href={`#/learn/${courseId}/lessons/${lesson.id}`}>{lesson.title}</a>
          {lesson.progress?.status === 'completed' ? (
            <span class="done"> ✓ completed</span>
          ) : lesson.progress?.status === 'in_progress' ? (
            <span> · in progress</span>
          ) : null}
          {lesson.id === followed && <strong class="badge"> ← the class is here</strong>}
          {lesson.children?.length > 0 && <Outline courseId={courseId} lessons={lesson.children} followed={followed} />}
        </li>
      ))}
    </ol>
  );
}

/**
 * The live part of a course for a student: the lesson the instructor points to and the launched
 * quiz. Rebuilt from `GET …/live-sessions/current` and `quiz:sync` after every (re)connection.
 */
export function useLiveClass(courseId: string) {
  const [session, setSession] = useState<CurrentSessionJson | null>(null);
  const [attempt, setAttempt] = useState<Attempt | null>(null);
  const [error, setError] = useState<string | null>(null);
  const resync = useStore(resyncs);

  async function load() {
    try {
      const current = await api.get<CurrentSessionJson>(`/api/courses/${courseId}/live-sessions/current`);
      setSession(current);
      const mine = current.myAttempt;
      if (mine)
        setAttempt(
          await emit('quiz:sync', { attemptId: mine.id })
            .then((data) => data)
            .catch(() => api.get<Attempt>(`/api/attempts/${mine.id}`)),
        );
      setError(null);
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) setSession(null);
      else setError(describeError(failure));
    }
  }

  useEffect(() => {
    void emit('course:join', { courseId })
      .catch(() => undefined)
      .then(load);
  }, [courseId, resync]);

  useEffect(() => {
    const offs = [
      onServerEvent('session:started', () => void load()),
      onServerEvent('session:lesson', () => void load()),
      onServerEvent('session:ended', () => void load()),
      onServerEvent('session:quiz-launched', () => void load()),
      onServerEvent('session:quiz-closed', () => void load()),
      onServerEvent('quiz:started', (event) => {
        // Self-paced attempts belong to the lesson page that started them; a launch is the class's.
        if (!event.launchId) return;
        if (event.attempt) setAttempt(event.attempt);
        else void emit('quiz:sync', { attemptId: event.attemptId }).then((data) => setAttempt(data));
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [courseId]);

  const openLaunch = session?.openLaunch ?? null;
  async function join() {
    if (!openLaunch) return;
    try {
      setAttempt(await api.post<Attempt>(`/api/quizzes/${openLaunch.quizId}/attempts`));
    } catch (failure) {
      setError(describeError(failure));
    }
  }
  return { session, attempt, error, setAttempt, openLaunch, join };
}

export function StudentCourse({ courseId }: { courseId: string }) {
  const [course, setCourse] = useState<CourseDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const live = useLiveClass(courseId);
  const resync = useStore(resyncs);

  async function load() {
    try {
      setCourse(await api.get<CourseDetail>(`/api/courses/${courseId}`));
      setError(null);
    } catch (failure) {
      setError(describeError(failure));
    }
  }
  useEffect(() => void load(), [courseId, resync]);
  useEffect(
    () =>
      onServerEvent('progress:updated', (event) => {
        if (event.courseId !== courseId) return;
        setCourse((current) =>
          current?.enrollment
            ? {
                ...current,
                enrollment: {
                  ...current.enrollment,
                  progressPercentage: event.progressPercentage,
                  completedLessonsCount: event.completedLessonsCount,
                  totalLessonsCount: event.totalLessonsCount,
                  status: event.status,
                },
              }
            : current,
        );
      }),
    [courseId],
  );

  if (error) return <Notice kind="error">{error}</Notice>;
  if (!course) return <p>Loading the course…</p>;
  const followed = live.session?.currentLesson ?? null;
  return (
    <div>
      <h1>{course.title}</h1>
      {course.enrollment && (
        <p data-testid="my-progress">
          <ProgressBar value={course.enrollment.progressPercentage} label="My progress" /> {course.enrollment.completedLessonsCount} of{' '}
          {course.enrollment.totalLessonsCount} lessons
        </p>
      )}
      {live.error && <Notice kind="error">{live.error}</Notice>}
      {live.session && (
        <Notice kind="info">
          <span data-testid="live-banner">
            Live class in progress.
            {followed ? (
              <>
                {' '}
                Your instructor is on <a href={`#/learn/${courseId}/lessons/${followed.id}`}>{followed.title}</a>.
              </>
            ) : null}
          </span>
        </Notice>
      )}
      {live.attempt && <QuizRunner attempt={live.attempt} onFinished={(done) => live.setAttempt(done)} />}
      {!live.attempt && live.openLaunch && (
        <button type="button" onClick={() => void live.join()}>
          Join the quiz the class is taking
        </button>
      )}
      <h2>Lessons</h2>
      <Outline courseId={courseId} lessons={course.lessons} followed={followed?.id ?? null} />
    </div>
  );
}
