import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, describeError } from '../api.js';
import { formatRemaining, useRemainingMs } from '../clock.js';
import { emit, onServerEvent, resyncs } from '../live.js';
import { CoursePresence } from '../presence.js';
import { useFrameBatchedRender, useStore } from '../store.js';
import type { CourseDetail, CurrentSessionJson, Dashboard, Launch, LaunchCreated, OutlineLesson, Quiz } from '../types.js';
import { DistributionChart } from './chart.js';
import { Notice, ProgressBar, formatPercent } from './common.js';
import { RegradePanel } from './regrade.js';

interface RosterRow {
  studentId: string;
  fullName: string;
  online: boolean;
  progressPercentage: number;
  completed: number;
  total: number;
  lastLesson: string | null;
  attempt: string | null;
  attemptId?: string;
}

interface Grade {
  attemptId: string;
  studentId: string;
  quizId: string;
  percentage: number;
  isPassed: boolean;
  score: number;
  maxScore: number;
}

type LaunchView = Launch;

function flatten(lessons: OutlineLesson[], into: OutlineLesson[] = []): OutlineLesson[] {
  for (const lesson of lessons) {
    into.push(lesson);
    flatten(lesson.children ?? [], into);
  }
  return into;
}

export function InstructorCourse({ courseId }: { courseId: string }) {
  const [course, setCourse] = useState<CourseDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [session, setSession] = useState<CurrentSessionJson | null>(null);
  const [launch, setLaunch] = useState<LaunchView | null>(null);
  const [quizzes, setQuizzes] = useState<Record<string, Quiz>>({});
  const [actionError, setActionError] = useState<string | null>(null);
  const roster = useRef(new Map<string, RosterRow>());
  const lessonTitles = useRef(new Map<string, string>());
  const grades = useRef<Grade[]>([]);
  const stats = useRef(new Map<string, Record<string, number>>());
  const presence = useRef(new CoursePresence());
  const render = useFrameBatchedRender();
  const resync = useStore(resyncs);

  async function loadSession() {
    try {
      const current = await api.get<CurrentSessionJson>(`/api/courses/${courseId}/live-sessions/current?limit=100`);
      setSession(current);
      for (const entry of current.roster?.items ?? []) {
        const row = roster.current.get(entry.studentId);
        if (!row) continue;
        // The join's snapshot and the batches after it are newer than any list read here.
        if (!presence.current.known) row.online = entry.online;
        if (entry.attemptStatus && !row.attempt?.startsWith('graded')) row.attempt = entry.attemptStatus.replace('_', ' ');
      }
      render();
      const open = current.openLaunch;
      if (open) await loadLaunch(open.id);
      else setLaunch((previous) => (previous && !previous.closedAt ? { ...previous, closedAt: new Date().toISOString() } : previous));
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 404) setSession(null);
      else throw failure;
    }
  }

  async function loadLaunch(launchId: string) {
    try {
      setLaunch(await api.get<LaunchView>(`/api/launches/${launchId}`));
    } catch (failure) {
      setActionError(describeError(failure));
    }
  }

  async function loadAll() {
    try {
      const [detail, dashboard] = await Promise.all([
        api.get<CourseDetail>(`/api/courses/${courseId}`),
        api.get<Dashboard>(`/api/courses/${courseId}/dashboard`),
      ]);
      setCourse(detail);
      for (const lesson of flatten(detail.lessons)) lessonTitles.current.set(lesson.id, lesson.title);
      const online = new Set(dashboard.online);
      const next = new Map<string, RosterRow>();
      for (const student of dashboard.students) {
        if (student.status === 'dropped') continue;
        const previous = roster.current.get(student.studentId);
        next.set(student.studentId, {
          studentId: student.studentId,
          fullName: student.fullName,
          online: presence.current.known ? presence.current.online.has(student.studentId) : online.has(student.studentId) || student.online,
          progressPercentage: student.progressPercentage,
          completed: student.completedLessonsCount,
          total: student.totalLessonsCount,
          // The live `lesson:progress` event when newer than the snapshot, else the snapshot's.
          lastLesson: previous?.lastLesson ?? student.lastLesson?.title ?? null,
          attempt: previous?.attempt ?? null,
        });
      }
      roster.current = next;
      const known = new Set(grades.current.map((grade) => grade.attemptId));
      grades.current = [...grades.current, ...dashboard.recentGrades.filter((grade) => !known.has(grade.attemptId))].slice(-100);
      await loadSession();
      const quizIds = flatten(detail.lessons)
        .map((lesson) => lesson.quizId)
        .filter((id): id is string => Boolean(id));
      const loaded = await Promise.all(quizIds.map((id) => api.get<Quiz>(`/api/quizzes/${id}`).catch(() => null)));
      setQuizzes(Object.fromEntries(loaded.filter((quiz): quiz is Quiz => quiz !== null).map((quiz) => [quiz.id, quiz])));
      setError(null);
      render();
    } catch (failure) {
      if (failure instanceof ApiError && failure.status === 403) {
        setError('This page is for the instructors of this course. Your account cannot open it.');
      } else setError(describeError(failure));
    }
  }

  // Every (re)connection: join the room again (it answers who is online, and the presence seq the
  // batches continue from) and reload the snapshot.
  useEffect(() => {
    let cancelled = false;
    presence.current.reset();
    void (async () => {
      try {
        const joined = await emit('course:join', { courseId });
        if (cancelled) return;
        presence.current.snapshot(joined);
        for (const row of roster.current.values()) row.online = presence.current.online.has(row.studentId);
        render();
      } catch {
        // The snapshot below says who is online too; a refused join shows its own error there.
      }
      await loadAll();
    })();
    return () => {
      cancelled = true;
    };
  }, [courseId, resync]);

  useEffect(() => {
    const offs = [
      onServerEvent('progress:updated', (event) => {
        const row = roster.current.get(event.studentId);
        if (!row || event.courseId !== courseId) return;
        row.progressPercentage = event.progressPercentage;
        row.completed = event.completedLessonsCount;
        row.total = event.totalLessonsCount;
        render();
      }),
      onServerEvent('lesson:progress', (event) => {
        const row = roster.current.get(event.studentId);
        if (!row || event.courseId !== courseId) return;
        row.lastLesson = lessonTitles.current.get(event.lessonId) ?? null;
        render();
      }),
      onServerEvent('presence:updated', (event) => {
        if (event.courseId !== courseId) return;
        for (const id of presence.current.apply(event)) {
          const row = roster.current.get(id);
          if (row) row.online = presence.current.online.has(id);
        }
        render();
      }),
      onServerEvent('quiz:graded', (event) => {
        if (grades.current.some((grade) => grade.attemptId === event.attemptId)) return;
        grades.current = [...grades.current, event].slice(-100);
        const row = roster.current.get(event.studentId);
        if (row) {
          row.attempt = `graded ${formatPercent(event.percentage)}`;
          row.attemptId = event.attemptId;
        }
        render();
      }),
      onServerEvent('quiz:answer-stats', (event) => {
        stats.current.set(event.questionId, event.distribution);
        render();
      }),
      onServerEvent('session:started', () => void loadSession()),
      onServerEvent('session:lesson', () => void loadSession()),
      onServerEvent('session:ended', () => void loadSession()),
      onServerEvent('quiz:abandoned', (event) => {
        for (const row of roster.current.values()) if (row.attemptId === event.attemptId) row.attempt = 'abandoned';
        render();
      }),
      onServerEvent('session:quiz-launched', (event) => {
        if (event.courseId === courseId) void loadLaunch(event.launchId);
      }),
      onServerEvent('session:quiz-closed', (event) => {
        if (event.courseId === courseId) void loadLaunch(event.launchId);
      }),
      onServerEvent('session:launch-counts', (event) => {
        if (event.courseId === courseId) setLaunch((current) => (current?.id === event.launchId ? { ...current, counts: event.counts } : current));
      }),
      onServerEvent('session:launch-summary', (event) => {
        if (event.courseId === courseId) setLaunch((current) => (current?.id === event.launchId ? { ...current, summary: event.summary } : current));
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [courseId]);

  if (error) return <Notice kind="error">{error}</Notice>;
  if (!course) return <p>Loading the course…</p>;

  const lessons = flatten(course.lessons);
  const quizLessons = lessons.filter((lesson) => lesson.quizId);
  const rows = [...roster.current.values()].sort((a, b) => a.fullName.localeCompare(b.fullName));
  const onlineCount = rows.filter((row) => row.online).length;

  async function act(action: () => Promise<unknown>) {
    setActionError(null);
    try {
      await action();
    } catch (failure) {
      setActionError(describeError(failure));
    }
  }

  return (
    <div class="dashboard">
      <h1>{course.title}</h1>
      {actionError && <Notice kind="error">{actionError}</Notice>}
      <div class="columns">
        <section aria-labelledby="roster-title" class="panel">
          <h2 id="roster-title">
            Students{' '}
            <small>
              ({onlineCount} online of {rows.length}
              {presence.current.known && <span data-testid="room-count">; {presence.current.count} in the room, instructors included</span>})
            </small>
          </h2>
          <table class="roster" data-testid="roster">
            <thead>
              <tr>
                <th scope="col">Student</th>
                <th scope="col">Progress</th>
                <th scope="col">Last lesson</th>
                {launch && !launch.closedAt && <th scope="col">Quiz</th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.studentId} data-student={row.studentId}>
                  <td>
                    <span class={`presence ${row.online ? 'on' : 'off'}`} role="img" aria-label={row.online ? 'online' : 'offline'} />
                    {row.fullName}
                  </td>
                  <td>
                    <ProgressBar value={row.progressPercentage} label={`${row.fullName}'s progress`} />
                  </td>
                  <td>{row.lastLesson ?? '—'}</td>
                  {launch && !launch.closedAt && (
                    <td>
                      {row.attempt ?? ''}{' '}
                      <button
                        type="button"
                        class="small"
                        onClick={() =>
                          void act(() =>
                            api.post(`/api/launches/${launch.id}/extend`, { seconds: 30, studentId: row.studentId }).then(() => loadLaunch(launch.id)),
                          )
                        }
                        aria-label={`Give ${row.fullName} 30 more seconds`}
                      >
                        +30 s
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="live-title" class="panel">
          <h2 id="live-title">Live session</h2>
          {!session ? (
            <>
              <p>No live session.</p>
              <button
                type="button"
                onClick={() =>
                  void act(async () => {
                    await api.post(`/api/courses/${courseId}/live-sessions`);
                    await loadSession();
                  })
                }
              >
                Start live session
              </button>
            </>
          ) : (
            <>
              <p data-testid="session-state">Live since {new Date(session.startedAt).toLocaleTimeString()}</p>
              <label>
                Lesson everyone follows
                <select
                  value={session.currentLesson?.id ?? ''}
                  onChange={(event) => {
                    const value = event.currentTarget.value;
                    void act(async () => {
                      await api.patch(`/api/live-sessions/${session.id}`, { currentLessonId: value || null });
                      await loadSession();
                    });
                  }}
                >
                  <option value="">(none)</option>
                  {lessons.map((lesson) => (
                    <option key={lesson.id} value={lesson.id}>
                      {lesson.title}
                    </option>
                  ))}
                </select>
              </label>
              <LaunchPanel
                sessionId={session.id}
                launch={launch}
                quizLessons={quizLessons}
                quizzes={quizzes}
                stats={stats.current}
                act={act}
                onLaunched={(id) => {
                  stats.current.clear();
                  for (const row of roster.current.values()) row.attempt = null;
                  return loadLaunch(id);
                }}
                reloadLaunch={loadLaunch}
              />
              <button
                type="button"
                class="danger"
                onClick={() =>
                  void act(async () => {
                    await api.post(`/api/live-sessions/${session.id}/end`);
                    await loadSession();
                  })
                }
              >
                End live session
              </button>
            </>
          )}
        </section>
      </div>
      <section aria-labelledby="grades-title" class="panel">
        <h2 id="grades-title">Grades as they arrive</h2>
        {grades.current.length === 0 ? (
          <p>No graded attempts in the last hour.</p>
        ) : (
          <ul class="grades" data-testid="grades" aria-live="polite">
            {[...grades.current]
              .reverse()
              .slice(0, 20)
              .map((grade) => (
                <li key={grade.attemptId}>
                  {roster.current.get(grade.studentId)?.fullName ?? 'A student'}: {quizzes[grade.quizId]?.title ?? 'quiz'} — {grade.score}/{grade.maxScore} (
                  {formatPercent(grade.percentage)}) {grade.isPassed ? 'passed' : 'not passed'}
                </li>
              ))}
          </ul>
        )}
        {!launch && <Distributions quizzes={quizzes} stats={stats.current} />}
      </section>
      <RegradePanel quizzes={Object.values(quizzes)} names={(id) => roster.current.get(id)?.fullName ?? 'A student'} />
    </div>
  );
}

function Distributions({ quizzes, stats, quizId }: { quizzes: Record<string, Quiz>; stats: Map<string, Record<string, number>>; quizId?: string }) {
  const charts = [];
  for (const quiz of Object.values(quizzes)) {
    if (quizId && quiz.id !== quizId) continue;
    for (const question of quiz.questions ?? []) {
      const distribution = stats.get(question.id);
      if (!distribution) continue;
      const options = (question as { options?: Array<{ id: string; text: string }> }).options;
      const keys = options ? options.map((option) => option.id) : Object.keys(distribution);
      const labels = options ? options.map((option) => option.text) : keys;
      charts.push(<DistributionChart key={question.id} title={question.questionText} labels={labels} counts={keys.map((key) => distribution[key] ?? 0)} />);
    }
  }
  if (charts.length === 0) return null;
  return (
    <div class="charts">
      <h3>Answer distribution</h3>
      {charts}
    </div>
  );
}

function Countdown({ deadline, label }: { deadline: string; label: string }) {
  const remaining = useRemainingMs(deadline);
  return (
    <p class="countdown" data-testid="countdown" aria-label={label}>
      {remaining === null ? '' : remaining > 0 ? formatRemaining(remaining) : 'time is up'}
    </p>
  );
}

interface LaunchPanelProps {
  sessionId: string;
  launch: LaunchView | null;
  quizLessons: OutlineLesson[];
  quizzes: Record<string, Quiz>;
  stats: Map<string, Record<string, number>>;
  act: (action: () => Promise<unknown>) => Promise<void>;
  onLaunched: (launchId: string) => Promise<void>;
  reloadLaunch: (launchId: string) => Promise<void>;
}

function LaunchPanel({ sessionId, launch, quizLessons, quizzes, stats, act, onLaunched, reloadLaunch }: LaunchPanelProps) {
  const [quizId, setQuizId] = useState('');
  const [minutes, setMinutes] = useState('2');
  const selected = quizId || quizLessons[0]?.quizId || '';
  const open = launch && !launch.closedAt;

  if (open) {
    return (
      <div class="launch" data-testid="launch">
        <h3>Quiz running: {quizzes[launch.quizId]?.title ?? 'quiz'}</h3>
        <Countdown deadline={launch.closesAt} label="Time left for the class" />
        {launch.counts && (
          <p data-testid="launch-counts">
            {launch.counts.started} started · {launch.counts.submitted + launch.counts.graded} submitted · {launch.counts.graded} graded
          </p>
        )}
        <div class="buttons">
          <button
            type="button"
            onClick={() => void act(() => api.post(`/api/launches/${launch.id}/extend`, { seconds: 60 }).then(() => reloadLaunch(launch.id)))}
          >
            +1 minute for everyone
          </button>
          <button type="button" class="danger" onClick={() => void act(() => api.post(`/api/launches/${launch.id}/close`).then(() => reloadLaunch(launch.id)))}>
            Close quiz now
          </button>
        </div>
        <Distributions quizzes={quizzes} stats={stats} quizId={launch.quizId} />
      </div>
    );
  }

  return (
    <div class="launch">
      {launch?.closedAt && (
        <div data-testid="launch-summary">
          <h3>Last quiz: {quizzes[launch.quizId]?.title ?? 'quiz'}</h3>
          {launch.summary ? (
            <p>
              {launch.summary.graded} graded of {launch.summary.started} · {launch.summary.passed} passed · mean{' '}
              {launch.summary.meanPercentage === null ? '—' : formatPercent(launch.summary.meanPercentage)}
            </p>
          ) : (
            <p>Closed; the summary comes once every attempt is finished.</p>
          )}
          <Distributions quizzes={quizzes} stats={stats} quizId={launch.quizId} />
        </div>
      )}
      {quizLessons.length === 0 ? (
        <p>This course has no quiz to launch.</p>
      ) : (
        <form
          aria-label="Launch a quiz"
          onSubmit={(event) => {
            event.preventDefault();
            void act(async () => {
              const created = await api.post<LaunchCreated>(`/api/live-sessions/${sessionId}/launches`, {
                quizId: selected,
                durationSeconds: Math.round(Number(minutes) * 60),
              });
              await onLaunched(created.launch.id);
            });
          }}
        >
          <label>
            Quiz
            <select value={selected} onChange={(event) => setQuizId(event.currentTarget.value)}>
              {quizLessons.map((lesson) => (
                <option key={lesson.quizId} value={lesson.quizId!}>
                  {quizzes[lesson.quizId!]?.title ?? lesson.title}
                </option>
              ))}
            </select>
          </label>
          <label>
            Minutes
            <input type="number" min="0.25" max="720" step="0.25" value={minutes} onInput={(event) => setMinutes(event.currentTarget.value)} />
          </label>
          <button type="submit">Launch quiz</button>
        </form>
      )}
    </div>
  );
}
