import { useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import type { Attempt, LessonJson } from '../types.js';
import { Notice, useLoad } from './common.js';
import { QuizRunner } from './quiz-runner.js';
import { useLiveClass } from './student-course.js';

export function LessonView({ courseId, lessonId }: { courseId: string; lessonId: string }) {
  const { data: lesson, error, reload } = useLoad(() => api.get<LessonJson>(`/api/lessons/${lessonId}`), [lessonId]);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const [attempt, setAttempt] = useState<Attempt | null>(null);
  const live = useLiveClass(courseId);

  if (error) return <Notice kind="error">{error}</Notice>;
  if (!lesson) return <p>Loading the lesson…</p>;
  const completed = lesson.progress?.status === 'completed';

  async function complete() {
    setMessage(null);
    try {
      await api.post(`/api/lessons/${lessonId}/progress`, { status: 'completed', completionPercentage: 100 });
      setMessage({ kind: 'ok', text: 'Marked as completed.' });
      await reload();
    } catch (failure) {
      setMessage({ kind: 'error', text: describeError(failure) });
    }
  }

  async function startQuiz() {
    setMessage(null);
    try {
      setAttempt(await api.post<Attempt>(`/api/quizzes/${lesson!.quizId}/attempts`));
    } catch (failure) {
      setMessage({ kind: 'error', text: describeError(failure) });
    }
  }

  const followed = live.session?.currentLesson;
  return (
    <article>
      <p>
        <a href={`#/learn/${courseId}`}>← Course outline</a>
      </p>
      {followed && followed.id !== lessonId && (
        <Notice kind="info">
          Your instructor is on <a href={`#/learn/${courseId}/lessons/${followed.id}`}>{followed.title}</a>.
        </Notice>
      )}
      {live.attempt && <QuizRunner attempt={live.attempt} onFinished={(done) => live.setAttempt(done)} />}
      <h1>{lesson.title}</h1>
      {lesson.description && <p class="lead">{lesson.description}</p>}
      <div class="content">{lesson.content ?? 'No content yet.'}</div>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {lesson.quizId ? (
        attempt ? (
          <QuizRunner attempt={attempt} onFinished={() => void reload()} />
        ) : (
          <button type="button" onClick={() => void startQuiz()}>
            {completed ? 'Take the quiz again' : 'Start the quiz'}
          </button>
        )
      ) : completed ? (
        <p class="done" data-testid="completed">
          ✓ Completed
        </p>
      ) : (
        <button type="button" onClick={() => void complete()}>
          Mark as completed
        </button>
      )}
    </article>
  );
}
