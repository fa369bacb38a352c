import { useEffect, useState } from 'preact/hooks';
import type { Static } from 'typebox';
import type { RegradeAcceptedJson, RegradeDryRunJson } from '../../../server/modules/regrades/regrades.schemas.js';
import { api, describeError } from '../api.js';
import { onServerEvent } from '../live.js';
import type { Quiz } from '../types.js';
import { Notice, formatPercent } from './common.js';

type Preview = Static<typeof RegradeDryRunJson>;
type Accepted = Static<typeof RegradeAcceptedJson>;

/** Regrade a quiz after a key correction: a dry-run preview of what would change, then the run with its progress. */
export function RegradePanel({ quizzes, names }: { quizzes: Quiz[]; names: (studentId: string) => string }) {
  const [quizId, setQuizId] = useState('');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const selected = quizId || quizzes[0]?.id || '';

  useEffect(() => {
    const offs = [
      onServerEvent('quiz:regrade-progress', (event) => {
        if (event.quizId === selected) setStatus(`Regrading: ${event.processed} of ${event.total} attempts, ${event.changed} changed`);
      }),
      onServerEvent('quiz:regrade-summary', (event) => {
        if (event.quizId === selected)
          setStatus(
            event.status === 'done' ? `Regrade done: ${event.changed} of ${event.total} results changed` : `Regrade failed: ${event.error ?? 'unknown error'}`,
          );
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [selected]);

  if (quizzes.length === 0) return null;

  async function run(dryRun: boolean) {
    setError(null);
    try {
      if (dryRun) {
        setPreview(await api.post<Preview>(`/api/quizzes/${selected}/regrade`, { dryRun: true }));
      } else {
        const accepted = await api.post<Accepted>(`/api/quizzes/${selected}/regrade`, { dryRun: false });
        setStatus(`Regrade ${accepted.status}`);
        setPreview(null);
      }
    } catch (failure) {
      setError(describeError(failure));
    }
  }

  return (
    <section class="panel" aria-labelledby="regrade-title">
      <h2 id="regrade-title">Regrade</h2>
      <p>After correcting an answer key, preview which results would change, then apply it.</p>
      <label>
        Quiz
        <select
          value={selected}
          onChange={(event) => {
            setQuizId(event.currentTarget.value);
            setPreview(null);
          }}
        >
          {quizzes.map((quiz) => (
            <option key={quiz.id} value={quiz.id}>
              {quiz.title}
            </option>
          ))}
        </select>
      </label>
      <div class="buttons">
        <button type="button" onClick={() => void run(true)}>
          Preview regrade
        </button>
        {preview && preview.changed > 0 && (
          <button type="button" class="danger" onClick={() => void run(false)}>
            Apply regrade
          </button>
        )}
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      {status && <Notice kind="info">{status}</Notice>}
      {preview && (
        <div data-testid="regrade-preview">
          <p>
            {preview.changed} of {preview.gradedAttempts} graded attempts would change (passing score {preview.passingScore} %).
          </p>
          {preview.attempts.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Student</th>
                  <th scope="col">Now</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {preview.attempts.map((attempt) => (
                  <tr key={attempt.attemptId}>
                    <td>{names(attempt.studentId)}</td>
                    <td>
                      {formatPercent(attempt.old.percentage)} {attempt.old.isPassed ? 'passed' : 'not passed'}
                    </td>
                    <td>
                      {formatPercent(attempt.new.percentage)} {attempt.new.isPassed ? 'passed' : 'not passed'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
