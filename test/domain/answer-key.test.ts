import t from '../helpers/tap.js';
import { keyRevealed, type AnswerKeyContext } from '../../server/domain/answer-key.js';

const student: AnswerKeyContext = { viewerIsManager: false, showCorrectAnswers: true, quizType: 'graded', attemptsAllowed: 2, attemptsUsed: 1 };

t.test('a graded quiz: the key once no attempt is left', async (t) => {
  t.equal(keyRevealed(student), false, 'attempt 1 of 2');
  t.equal(keyRevealed({ ...student, attemptsUsed: 2 }), true, 'attempt 2 of 2');
  t.equal(keyRevealed({ ...student, attemptsUsed: 3 }), true, 'more used than allowed (the limit was lowered)');
  t.equal(keyRevealed({ ...student, attemptsAllowed: null, attemptsUsed: 50 }), false, 'unlimited attempts: never');
  t.equal(keyRevealed({ ...student, attemptsAllowed: 1 }), true, 'a single attempt');
});

t.test('a practice quiz: after each attempt', async (t) => {
  t.equal(keyRevealed({ ...student, quizType: 'practice' }), true);
  t.equal(keyRevealed({ ...student, quizType: 'practice', attemptsAllowed: null }), true);
});

t.test('showCorrectAnswers off hides it from students; managers always see it', async (t) => {
  t.equal(keyRevealed({ ...student, showCorrectAnswers: false, attemptsUsed: 2 }), false);
  t.equal(keyRevealed({ ...student, showCorrectAnswers: false, quizType: 'practice' }), false);
  t.equal(keyRevealed({ ...student, viewerIsManager: true, showCorrectAnswers: false }), true);
  t.equal(keyRevealed({ ...student, viewerIsManager: true, attemptsAllowed: null }), true);
});

t.test('a launched attempt: the key only once its launch has closed', async (t) => {
  t.equal(keyRevealed({ ...student, attemptsUsed: 2, launchOpen: true }), false, 'no attempt left, launch open');
  t.equal(keyRevealed({ ...student, quizType: 'practice', launchOpen: true }), false, 'practice, launch open');
  t.equal(keyRevealed({ ...student, attemptsUsed: 2, launchOpen: false }), true, 'launch closed');
  t.equal(keyRevealed({ ...student, viewerIsManager: true, launchOpen: true }), true, 'managers always');
});
