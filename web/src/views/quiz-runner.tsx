import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError } from '../api.js';
import { formatRemaining, observeServerNow, useRemainingMs } from '../clock.js';
import { emit, onServerEvent } from '../live.js';
import type { Attempt } from '../types.js';
import { Notice, formatPercent } from './common.js';

type SaveState = 'saving' | 'saved' | 'failed';
type Question = Attempt['questions'][number];

/**
 * A running attempt: the server-synced countdown, each answer saved as it is given (with a mark
 * saying whether it was), submit, and the grade as soon as the server has it.
 */
export function QuizRunner({ attempt: initial, onFinished }: { attempt: Attempt; onFinished?: (attempt: Attempt) => void }) {
  const [attempt, setAttempt] = useState(initial);
  const [answers, setAnswers] = useState<Record<string, unknown>>(initial.answers ?? {});
  const [saves, setSaves] = useState<Record<string, SaveState>>({});
  const [error, setError] = useState<string | null>(null);
  const [deadline, setDeadline] = useState(initial.deadline);
  const remaining = useRemainingMs(attempt.status === 'in_progress' ? deadline : null);
  const attemptId = attempt.id;
  const finished = attempt.status !== 'in_progress';
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());

  useEffect(() => {
    setAttempt(initial);
    setAnswers(initial.answers ?? {});
    setDeadline(initial.deadline);
    observeServerNow(initial.serverNow);
  }, [initial.id, initial.status, initial.deadline]);

  useEffect(() => {
    const offs = [
      onServerEvent('quiz:graded', (event) => {
        if (event.attemptId !== attemptId) return;
        void api.get<Attempt>(`/api/attempts/${attemptId}`).then((fresh) => {
          setAttempt(fresh);
          onFinished?.(fresh);
        });
      }),
      onServerEvent('quiz:expired', (event) => {
        if (event.attemptId === attemptId) setDeadline((current) => current);
      }),
    ];
    const live = onServerEvent('quiz:deadline-changed', (event) => {
      if (event.attemptId === attemptId && event.deadline) setDeadline(event.deadline);
    });
    const regraded = onServerEvent('quiz:regraded', (event) => {
      if (event.attemptId === attemptId) void api.get<Attempt>(`/api/attempts/${attemptId}`).then(setAttempt);
    });
    const abandoned = onServerEvent('quiz:abandoned', (event) => {
      if (event.attemptId === attemptId) void api.get<Attempt>(`/api/attempts/${attemptId}`).then(setAttempt);
    });
    return () => [...offs, live, regraded, abandoned].forEach((off) => off());
  }, [attemptId]);

  async function save(questionId: string, answer: unknown) {
    setSaves((current) => ({ ...current, [questionId]: 'saving' }));
    try {
      await api.put(`/api/attempts/${attemptId}/answers/${questionId}`, { answer });
      setSaves((current) => ({ ...current, [questionId]: 'saved' }));
    } catch (failure) {
      setSaves((current) => ({ ...current, [questionId]: 'failed' }));
      setError(describeError(failure));
    }
  }

  function answer(question: Question, value: unknown, debounce = false) {
    setAnswers((current) => ({ ...current, [question.id]: value }));
    clearTimeout(timers.current.get(question.id));
    if (debounce)
      timers.current.set(
        question.id,
        setTimeout(() => void save(question.id, value), 500),
      );
    else void save(question.id, value);
  }

  async function submit() {
    setError(null);
    try {
      for (const [questionId, timer] of timers.current) {
        clearTimeout(timer);
        if (saves[questionId] !== 'saved') await save(questionId, answers[questionId]);
      }
      timers.current.clear();
      const result = await emit('quiz:submit', { attemptId }).catch(() => api.post<Attempt>(`/api/attempts/${attemptId}/submit`, {}));
      setAttempt(result);
      onFinished?.(result);
    } catch (failure) {
      setError(describeError(failure));
    }
  }

  const result = attempt.result;
  return (
    <section class="quiz" aria-labelledby="quiz-title" data-testid="quiz">
      <h2 id="quiz-title">Quiz</h2>
      {!finished && remaining !== null && (
        <p class={`countdown ${remaining < 15_000 ? 'urgent' : ''}`} data-testid="countdown" role="timer" aria-label="Time left">
          {remaining > 0 ? formatRemaining(remaining) : 'Time is up'}
        </p>
      )}
      {error && <Notice kind="error">{error}</Notice>}
      {attempt.status === 'graded' && result && (
        <Notice kind={result.isPassed ? 'ok' : 'info'}>
          <span data-testid="grade">
            Your grade: {result.score}/{result.maxScore} ({formatPercent(result.percentage)}) — {result.isPassed ? 'passed' : 'not passed'}
          </span>
        </Notice>
      )}
      {attempt.status === 'abandoned' && <Notice kind="info">This attempt ended without answers.</Notice>}
      <ol class="questions">
        {attempt.questions.map((question) => (
          <li key={question.id}>
            <fieldset disabled={finished}>
              <legend>
                {question.questionText} <small>({question.points} pt)</small>
              </legend>
              <QuestionInput question={question} value={answers[question.id]} onAnswer={(value, debounce) => answer(question, value, debounce)} />
              <span class={`save save-${saves[question.id] ?? 'none'}`} aria-live="polite" data-testid={`save-${question.id}`}>
                {saves[question.id] === 'saved'
                  ? '✓ saved'
                  : saves[question.id] === 'failed'
                    ? '✗ not saved'
                    : saves[question.id] === 'saving'
                      ? 'saving…'
                      : ''}
              </span>
            </fieldset>
          </li>
        ))}
      </ol>
      {!finished && (
        <button type="button" onClick={() => void submit()}>
          Submit answers
        </button>
      )}
    </section>
  );
}

function QuestionInput({ question, value, onAnswer }: { question: Question; value: unknown; onAnswer: (value: unknown, debounce?: boolean) => void }) {
  if (question.questionType === 'true_false') {
    return (
      <div class="choices">
        {[true, false].map((choice) => (
          <label key={String(choice)}>
            <input type="radio" name={question.id} checked={value === choice} onChange={() => onAnswer(choice)} />
            {choice ? 'True' : 'False'}
          </label>
        ))}
      </div>
    );
  }
  if (question.questionType === 'short_answer') {
    return (
      <label>
        Your answer
        <input type="text" value={typeof value === 'string' ? value : ''} onInput={(event) => onAnswer(event.currentTarget.value, true)} />
      </label>
    );
  }
  const chosen = Array.isArray(value) ? (value as string[]) : [];
  return (
    <div class="choices">
      {(question.options ?? []).map((option) => (
        <label key={option.id}>
          <input
            type={question.multipleSelect ? 'checkbox' : 'radio'}
            name={question.id}
            checked={chosen.includes(option.id)}
            onChange={(event) => {
              const checked = event.currentTarget.checked;
              onAnswer(question.multipleSelect ? (checked ? [...chosen, option.id] : chosen.filter((id) => id !== option.id)) : [option.id]);
            }}
          />
          {option.text}
        </label>
      ))}
    </div>
  );
}
