import t from '../helpers/tap.js';
import {
  answersAccepted,
  deadlineChangeError,
  finishingAction,
  launchedWithoutAnswers,
  MAX_DEADLINE_CHANGE_SECONDS,
  MAX_GRACE_PERIOD_SECONDS,
  overduePolicyError,
  submitUntil,
  submitWindowOpen,
} from '../../server/domain/quiz-timing.js';

const deadline = new Date('2026-12-06T10:00:00.000Z');
const at = (ms: number) => new Date(deadline.getTime() + ms);
const GRACE_MS = 2000;

t.test('submitUntil: deadline + grace under graceperiod, the deadline otherwise, null when untimed', async (t) => {
  t.same(submitUntil(deadline, { overdueHandling: 'graceperiod', gracePeriodSeconds: 90 }), at(90_000));
  t.same(submitUntil(deadline, { overdueHandling: 'autosubmit', gracePeriodSeconds: 90 }), deadline, 'a grace set on another policy is ignored');
  t.same(submitUntil(deadline, { overdueHandling: 'autoabandon', gracePeriodSeconds: 0 }), deadline);
  t.equal(submitUntil(null, { overdueHandling: 'graceperiod', gracePeriodSeconds: 90 }), null);
});

t.test('answers count until deadline + network grace, and not a millisecond later', async (t) => {
  t.ok(answersAccepted(deadline, at(-1), GRACE_MS));
  t.ok(answersAccepted(deadline, at(GRACE_MS), GRACE_MS), 'the last moment of the grace');
  t.notOk(answersAccepted(deadline, at(GRACE_MS + 1), GRACE_MS));
  t.ok(answersAccepted(null, at(1e9), GRACE_MS), 'untimed: always');
});

t.test('the submit window: deadline + network grace, or submit_until + network grace under graceperiod', async (t) => {
  const plain = { deadline, submitUntil: deadline };
  t.ok(submitWindowOpen(plain, at(GRACE_MS), GRACE_MS));
  t.notOk(submitWindowOpen(plain, at(GRACE_MS + 1), GRACE_MS));
  const graced = { deadline, submitUntil: at(60_000) };
  t.ok(submitWindowOpen(graced, at(30_000), GRACE_MS), 'inside the grace period');
  t.ok(submitWindowOpen(graced, at(60_000 + GRACE_MS), GRACE_MS));
  t.notOk(submitWindowOpen(graced, at(60_000 + GRACE_MS + 1), GRACE_MS), 'after it');
  t.ok(submitWindowOpen({ deadline, submitUntil: null }, at(GRACE_MS), GRACE_MS), 'rows without submit_until fall back to the deadline');
  t.notOk(submitWindowOpen({ deadline, submitUntil: null }, at(GRACE_MS + 1), GRACE_MS));
  t.ok(submitWindowOpen({ deadline: null, submitUntil: null }, at(1e9), GRACE_MS), 'untimed: never closes');
});

t.test('finishing: autosubmit grades, the other policies abandon', async (t) => {
  t.equal(finishingAction('autosubmit'), 'grade');
  t.equal(finishingAction('graceperiod'), 'abandon');
  t.equal(finishingAction('autoabandon'), 'abandon');
});

t.test('finishing a launched attempt: abandoned without a saved answer, whatever the policy', async (t) => {
  t.equal(finishingAction('autosubmit', { launched: true, answered: false }), 'abandon');
  t.equal(finishingAction('autosubmit', { launched: true, answered: true }), 'grade');
  t.equal(finishingAction('autosubmit', { launched: false, answered: false }), 'grade', 'a self-paced attempt without answers is graded');
  t.equal(finishingAction('autoabandon', { launched: true, answered: true }), 'abandon');
});

t.test('a policy is valid only with a positive grace for graceperiod, within bounds', async (t) => {
  t.equal(overduePolicyError({ overdueHandling: 'autosubmit', gracePeriodSeconds: 0 }), null);
  t.equal(overduePolicyError({ overdueHandling: 'graceperiod', gracePeriodSeconds: 1 }), null);
  t.match(overduePolicyError({ overdueHandling: 'graceperiod', gracePeriodSeconds: 0 }), /requires gracePeriodSeconds > 0/);
  t.match(overduePolicyError({ overdueHandling: 'autoabandon', gracePeriodSeconds: -1 }), /from 0 to/);
  t.match(overduePolicyError({ overdueHandling: 'graceperiod', gracePeriodSeconds: MAX_GRACE_PERIOD_SECONDS + 1 }), /from 0 to/);
  t.match(overduePolicyError({ overdueHandling: 'graceperiod', gracePeriodSeconds: 1.5 }), /integer/);
});

t.test('a deadline change is a non-zero integer within a week either way', async (t) => {
  t.equal(deadlineChangeError(-30), null);
  t.equal(deadlineChangeError(MAX_DEADLINE_CHANGE_SECONDS), null);
  for (const bad of [0, 1.5, MAX_DEADLINE_CHANGE_SECONDS + 1, -MAX_DEADLINE_CHANGE_SECONDS - 1, Number.NaN])
    t.type(deadlineChangeError(bad), 'string', String(bad));
});

t.test('a launched attempt without a saved answer is abandoned whatever the policy', async (t) => {
  t.equal(finishingAction('autosubmit', { launched: true, answered: false }), 'abandon');
  t.equal(finishingAction('autosubmit', { launched: true, answered: true }), 'grade');
  t.equal(finishingAction('autosubmit', { launched: false, answered: false }), 'grade', 'self-paced: the policy decides');
  t.ok(launchedWithoutAnswers({ launched: true, answered: false }));
  t.notOk(launchedWithoutAnswers({ launched: false, answered: false }));
});
