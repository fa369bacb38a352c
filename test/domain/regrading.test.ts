import t from '../helpers/tap.js';
import { gradeAttempt, type GradableQuestion } from '../../server/domain/grading.js';
import { correctQuestion, regradeAttempt, type CorrectableQuestion } from '../../server/domain/regrading.js';

const mc: CorrectableQuestion = {
  questionText: 'Pick one',
  questionType: 'multiple_choice',
  points: 2,
  options: [
    { id: 'a', text: 'A', isCorrect: true },
    { id: 'b', text: 'B', isCorrect: false },
    { id: 'c', text: 'C', isCorrect: false },
  ],
  correctAnswer: null,
};
const tf: CorrectableQuestion = { questionText: 'True?', questionType: 'true_false', points: 1, options: null, correctAnswer: true };
const sa: CorrectableQuestion = {
  questionText: 'Capital?',
  questionType: 'short_answer',
  points: 1,
  options: null,
  correctAnswer: { accepted: ['Paris'], caseSensitive: false },
};

const options = (correct: string[]) => mc.options!.map((option) => ({ ...option, isCorrect: correct.includes(option.id) }));

/** What `fn` throws (null when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return null;
}

t.test('the key and the points may be corrected', async (t) => {
  t.match(correctQuestion(mc, { options: options(['b']) }), { options: options(['b']), points: 2, keyChanged: true });
  t.match(correctQuestion(tf, { correctAnswer: false }), { correctAnswer: false, keyChanged: true });
  t.match(correctQuestion(sa, { correctAnswer: { accepted: ['Paris', 'paris, france'] } }), {
    correctAnswer: { accepted: ['Paris', 'paris, france'], caseSensitive: false },
    keyChanged: true,
  });
  t.match(correctQuestion(tf, { points: 3 }), { points: 3, correctAnswer: true, keyChanged: true });
  t.match(correctQuestion(tf, { explanation: 'Because' }), { keyChanged: false }, 'the explanation is no key change');
  t.match(
    correctQuestion(mc, { questionText: 'Pick one', questionType: 'multiple_choice', options: options(['a']), points: 2 }),
    { keyChanged: false },
    'current values are no change',
  );
});

t.test('what was answered stays frozen, and the refusal says what may change', async (t) => {
  const mayChange = /only a question's answer key \(correctAnswer, options' isCorrect\), its points and its explanation may change/;
  t.match(
    thrown(() => correctQuestion(tf, { questionText: 'False?' })),
    { name: 'CorrectionError', kind: 'frozen', message: /question text is frozen/ },
  );
  t.match(
    thrown(() => correctQuestion(tf, { questionType: 'short_answer' })),
    { name: 'CorrectionError', kind: 'frozen', message: /question type is frozen/ },
  );
  t.match(
    thrown(() => correctQuestion(tf, { orderIndex: 2 })),
    { name: 'CorrectionError', kind: 'frozen', message: mayChange },
  );
  t.match(
    thrown(() => correctQuestion(mc, { options: [...options(['a']), { id: 'd', text: 'D', isCorrect: false }] })),
    { name: 'CorrectionError', kind: 'frozen', message: /option ids/ },
  );
  t.match(
    thrown(() => correctQuestion(mc, { options: options(['a']).reverse() })),
    { name: 'CorrectionError', kind: 'frozen', message: /option ids \(and their order\)/ },
  );
  t.match(
    thrown(() => correctQuestion(mc, { options: options(['a']).map((o) => (o.id === 'c' ? { ...o, text: 'See' } : o)) })),
    { name: 'CorrectionError', kind: 'frozen', message: /text of each option/ },
  );
  t.match(
    thrown(() => correctQuestion(mc, { options: options(['a', 'b']) })),
    { name: 'CorrectionError', kind: 'frozen', message: /single or multiple choice/ },
  );
  const multi = { ...mc, options: options(['a', 'b']) };
  t.match(
    thrown(() => correctQuestion(multi, { options: options(['c']) })),
    { name: 'CorrectionError', kind: 'frozen', message: /single or multiple choice/ },
  );
  t.match(correctQuestion(multi, { options: options(['b', 'c']) }), { keyChanged: true }, 'multiple stays multiple');
});

t.test('a key of the wrong shape is refused as such', async (t) => {
  t.match(
    thrown(() => correctQuestion(tf, { correctAnswer: 'yes' })),
    { name: 'CorrectionError', kind: 'shape', message: /true or false/ },
  );
  t.match(
    thrown(() => correctQuestion(tf, { options: [{ id: 'x', text: 'X', isCorrect: true }] })),
    { name: 'CorrectionError', kind: 'shape', message: /has no options/ },
  );
  t.match(
    thrown(() => correctQuestion(sa, { correctAnswer: { accepted: [] } })),
    { name: 'CorrectionError', kind: 'shape', message: /non-empty strings/ },
  );
  t.match(
    thrown(() => correctQuestion(sa, { correctAnswer: { accepted: ['x'], strict: true } })),
    { name: 'CorrectionError', kind: 'shape', message: /Unknown field/ },
  );
  t.match(
    thrown(() => correctQuestion(mc, { correctAnswer: ['b'] })),
    { name: 'CorrectionError', kind: 'shape', message: /isCorrect, not correctAnswer/ },
  );
  t.match(
    thrown(() => correctQuestion(mc, { options: options([]) })),
    { name: 'CorrectionError', kind: 'shape', message: /at least one correct/ },
  );
});

t.test('a regrade is the first grading, compared with the stored summary', async (t) => {
  const questions: GradableQuestion[] = [
    { id: 'q1', ...tf, correctAnswer: false, explanation: null },
    { id: 'q2', ...mc, options: options(['a']), explanation: null },
  ];
  const answers = { q1: false, q2: ['b'] };
  const first = gradeAttempt(questions, answers, 50);
  const same = regradeAttempt(questions, answers, 50, first);
  t.same(same.grade, first, 'the same code gives the same grade');
  t.equal(same.changed, false);

  const before = { score: 0, maxScore: 3, percentage: 0, isPassed: false };
  const after = regradeAttempt(questions, answers, 50, before);
  t.match(after, { changed: true, grade: { score: 1, maxScore: 3, percentage: 33.33, isPassed: false } });
  t.equal(regradeAttempt(questions, answers, 30, { ...before, score: 1, percentage: 33.33 }).changed, true, 'a pass alone is a change');
  t.equal(regradeAttempt(questions, answers, 50, { ...before, score: 1, percentage: 33.33, maxScore: 4 }).changed, true, 'the maximum alone is a change');
});
