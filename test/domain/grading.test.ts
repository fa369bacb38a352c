import t from '../helpers/tap.js';
import { answerShapeError, gradeAttempt, gradeQuestion, normalizeText, type GradableQuestion } from '../../server/domain/grading.js';
import { normalizeQuestionContent, QuestionRuleError } from '../../server/domain/question-rules.js';
import { buildQuestionOrder, shuffled } from '../../server/domain/shuffle.js';
import { attemptDeadline, isExpired, remainingMs, timeLimitMs } from '../../server/domain/quiz-timing.js';

const single: GradableQuestion = {
  id: 'q1',
  questionText: 'Pick A',
  questionType: 'multiple_choice',
  points: 2,
  options: [
    { id: 'a', text: 'A', isCorrect: true },
    { id: 'b', text: 'B', isCorrect: false },
  ],
  correctAnswer: null,
  explanation: 'A is right',
};
const multi: GradableQuestion = {
  ...single,
  id: 'q2',
  options: [
    { id: 'a', text: 'A', isCorrect: true },
    { id: 'b', text: 'B', isCorrect: true },
    { id: 'c', text: 'C', isCorrect: false },
  ],
};
const trueFalse: GradableQuestion = {
  id: 'q3',
  questionText: 'Sky is blue',
  questionType: 'true_false',
  points: 1,
  options: null,
  correctAnswer: true,
  explanation: null,
};
const short: GradableQuestion = {
  id: 'q4',
  questionText: 'Keyword?',
  questionType: 'short_answer',
  points: 3,
  options: null,
  correctAnswer: { accepted: ['SELECT DISTINCT', 'distinct'], caseSensitive: false },
  explanation: null,
};
const shortCase: GradableQuestion = { ...short, id: 'q5', correctAnswer: { accepted: ['NaCl'], caseSensitive: true } };

const table: Array<[string, GradableQuestion, unknown, boolean]> = [
  ['mc: the correct option', single, ['a'], true],
  ['mc: the wrong option', single, ['b'], false],
  ['mc: empty choice', single, [], false],
  ['mc: both options', single, ['a', 'b'], false],
  ['mc: unknown option id', single, ['z'], false],
  ['mc: wrong shape (string)', single, 'a', false],
  ['mc: duplicated id', single, ['a', 'a'], false],
  ['multi: exact set', multi, ['b', 'a'], true],
  ['multi: subset', multi, ['a'], false],
  ['multi: superset', multi, ['a', 'b', 'c'], false],
  ['tf: true', trueFalse, true, true],
  ['tf: false', trueFalse, false, false],
  ['tf: string "true" is the wrong shape', trueFalse, 'true', false],
  ['tf: missing', trueFalse, undefined, false],
  ['short: case-insensitive', short, 'DISTINCT', true],
  ['short: white space trimmed and collapsed', short, '  select    distinct ', true],
  ['short: wrong', short, 'unique', false],
  ['short: number is the wrong shape', short, 42, false],
  ['short: empty', short, '', false],
  ['short: case-sensitive match', shortCase, ' NaCl ', true],
  ['short: case-sensitive mismatch', shortCase, 'nacl', false],
];

for (const [name, question, answer, correct] of table) {
  t.test(name, async (t) => {
    const result = gradeQuestion(question, answer);
    t.equal(result.correct, correct);
    t.equal(result.points, correct ? question.points : 0);
    t.equal(result.maxPoints, question.points);
  });
}

t.test('answer shapes for autosave', async (t) => {
  t.equal(answerShapeError(single, ['a']), null);
  t.match(answerShapeError(single, 'a'), /array of option ids/);
  t.match(answerShapeError(single, ['z']), /Unknown option id/);
  t.match(answerShapeError(single, ['a', 'a']), /chosen twice/);
  t.match(answerShapeError(single, ['a', 'b', 'a']), /Too many/);
  t.match(answerShapeError(trueFalse, 'true'), /boolean/);
  t.match(answerShapeError(short, ['x']), /string/);
  t.match(answerShapeError(short, 'x'.repeat(10_001)), /too long/);
  t.equal(normalizeText('  a \n\t b  '), 'a b');
});

t.test('attempt totals and rounding', async (t) => {
  const grade = gradeAttempt([single, trueFalse, short], { q1: ['a'], q3: false, q4: 'distinct' }, 70);
  t.equal(grade.score, 5);
  t.equal(grade.maxScore, 6);
  t.equal(grade.percentage, 83.33);
  t.equal(grade.isPassed, true);
  t.same(
    grade.questions.map((q) => q.questionId),
    ['q1', 'q3', 'q4'],
    'in the order given',
  );
  const third = gradeAttempt([trueFalse, { ...trueFalse, id: 'x' }, { ...trueFalse, id: 'y' }], { q3: true, x: true }, 66.67);
  t.equal(third.percentage, 66.67, '2/3 rounds half-up to 66.67');
  t.equal(third.isPassed, true, 'percentage ≥ passing score passes');
  const eighth = gradeAttempt(
    [
      { ...trueFalse, points: 1 },
      { ...trueFalse, id: 'z', points: 7 },
    ],
    { q3: true },
    50,
  );
  t.equal(eighth.percentage, 12.5);
  t.equal(eighth.isPassed, false);
  const empty = gradeAttempt([], {}, 70);
  t.match(empty, { score: 0, maxScore: 0, percentage: 0, isPassed: false });
  const zeroPass = gradeAttempt([trueFalse], {}, 0);
  t.equal(zeroPass.isPassed, true, 'a passing score of 0 passes anything');
});

t.test('question authoring rules', async (t) => {
  const mc = normalizeQuestionContent({
    questionType: 'multiple_choice',
    options: [
      { text: 'A', isCorrect: true },
      { id: 'b', text: 'B', isCorrect: false },
    ],
  });
  t.equal(mc.options!.length, 2);
  t.match(mc.options![0]!.id, /^[0-9a-f-]{36}$/, 'ids generated when absent');
  t.equal(mc.options![1]!.id, 'b');
  t.throws(() => normalizeQuestionContent({ questionType: 'multiple_choice', options: [{ text: 'A', isCorrect: true }] }), QuestionRuleError);
  t.throws(
    () =>
      normalizeQuestionContent({
        questionType: 'multiple_choice',
        options: [
          { text: 'A', isCorrect: false },
          { text: 'B', isCorrect: false },
        ],
      }),
    /one correct/,
  );
  t.throws(
    () =>
      normalizeQuestionContent({
        questionType: 'multiple_choice',
        options: [
          { id: 'x', text: 'A', isCorrect: true },
          { id: 'x', text: 'B', isCorrect: false },
        ],
      }),
    /unique/,
  );
  t.same(normalizeQuestionContent({ questionType: 'true_false', correctAnswer: false }), { options: null, correctAnswer: false });
  t.throws(() => normalizeQuestionContent({ questionType: 'true_false', correctAnswer: 'true' }), /true or false/);
  t.same(normalizeQuestionContent({ questionType: 'short_answer', correctAnswer: { accepted: ['x'] } }), {
    options: null,
    correctAnswer: { accepted: ['x'], caseSensitive: false },
  });
  t.throws(() => normalizeQuestionContent({ questionType: 'short_answer', correctAnswer: { accepted: [] } }), /non-empty/);
  t.throws(() => normalizeQuestionContent({ questionType: 'short_answer', correctAnswer: { accepted: ['x'], extra: 1 } }), /Unknown field/);
  t.throws(() => normalizeQuestionContent({ questionType: 'short_answer', correctAnswer: 'x' }), /accepted/);
});

t.test('question order and shuffling', async (t) => {
  const questions = [{ id: 'a', options: [{ id: '1' }, { id: '2' }, { id: '3' }] }, { id: 'b', options: null }, { id: 'c' }];
  t.same(buildQuestionOrder(questions, { shuffleQuestions: false, shuffleOptions: false }), [
    { questionId: 'a', optionIds: ['1', '2', '3'] },
    { questionId: 'b' },
    { questionId: 'c' },
  ]);
  const reversed = buildQuestionOrder(questions, { shuffleQuestions: true, shuffleOptions: true }, () => 0);
  t.same(reversed.map((item) => item.questionId).sort(), ['a', 'b', 'c'], 'a permutation');
  const many = new Set(Array.from({ length: 50 }, () => shuffled([1, 2, 3, 4, 5]).join('')));
  t.ok(many.size > 1, 'shuffling varies');
});

t.test('timing', async (t) => {
  const start = new Date('2026-01-01T00:00:00Z');
  t.equal(timeLimitMs({ timeLimitMinutes: 2 }), 120_000);
  t.equal(timeLimitMs({ timeLimitMinutes: 2, timeLimitSeconds: 20 }), 20_000, 'seconds win');
  t.equal(timeLimitMs({}), null);
  t.equal(attemptDeadline(start, { timeLimitSeconds: 20 })!.toISOString(), '2026-01-01T00:00:20.000Z');
  t.equal(attemptDeadline(start, {}), null);
  const deadline = new Date('2026-01-01T00:00:20Z');
  t.notOk(isExpired(deadline, new Date('2026-01-01T00:00:21Z'), 2000), 'within grace');
  t.ok(isExpired(deadline, new Date('2026-01-01T00:00:22.001Z'), 2000));
  t.notOk(isExpired(null, new Date(), 0), 'untimed never expires');
  t.equal(remainingMs(deadline, new Date('2026-01-01T00:00:19.5Z')), 500);
  t.equal(remainingMs(deadline, new Date('2026-01-01T00:00:30Z')), 0);
});
