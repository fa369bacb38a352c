import t from '../helpers/tap.js';
import { summarizeLaunch, type LaunchAttemptResult } from '../../server/domain/launch-summary.js';

const graded = (score: number, percentage: number, isPassed: boolean, q1: boolean, q2: boolean): LaunchAttemptResult => ({
  status: 'graded',
  score,
  maxScore: 4,
  percentage,
  isPassed,
  questions: [
    { questionId: 'q1', points: q1 ? 1 : 0, maxPoints: 1, correct: q1 },
    { questionId: 'q2', points: q2 ? 3 : 0, maxPoints: 3, correct: q2 },
  ],
});
const abandoned: LaunchAttemptResult = { status: 'abandoned', score: null, maxScore: null, percentage: null, isPassed: null, questions: null };

t.test('counts, means and per-question rates over the graded attempts', async (t) => {
  const summary = summarizeLaunch(
    [graded(4, 100, true, true, true), graded(1, 25, false, true, false), graded(3, 75, true, false, true), abandoned],
    ['q1', 'q2'],
  );
  t.same(summary, {
    started: 4,
    graded: 3,
    abandoned: 1,
    passed: 2,
    meanScore: 2.67,
    meanPercentage: 66.67,
    questions: [
      { questionId: 'q1', graded: 3, correctRate: 0.67, meanPoints: 0.67, maxPoints: 1 },
      { questionId: 'q2', graded: 3, correctRate: 0.67, meanPoints: 2, maxPoints: 3 },
    ],
  });
});

t.test('nothing graded: no means, every question listed with null rates', async (t) => {
  t.same(summarizeLaunch([abandoned], ['q1']), {
    started: 1,
    graded: 0,
    abandoned: 1,
    passed: 0,
    meanScore: null,
    meanPercentage: null,
    questions: [{ questionId: 'q1', graded: 0, correctRate: null, meanPoints: null, maxPoints: null }],
  });
  t.same(summarizeLaunch([], []).questions, [], 'an empty launch');
});

t.test('a question graded but since deleted from the quiz follows the listed ones', async (t) => {
  const summary = summarizeLaunch([graded(4, 100, true, true, true)], ['q2']);
  t.same(
    summary.questions.map((question) => question.questionId),
    ['q2', 'q1'],
  );
});
