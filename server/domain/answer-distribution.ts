/**
 * A question's answer counts before any answer: every option (multiple choice) or both values
 * (true/false) at 0, so a chart has every bar. A `Map`, because the keys are students' text and
 * instructors' option ids: in a plain object `constructor` or `__proto__` would hit its prototype.
 * (`Object.fromEntries` then writes every key as an own property, `__proto__` included.)
 */
export function emptyDistribution(question: { questionType: string; options: Array<{ id: string }> | null }): Map<string, number> {
  const counts = new Map<string, number>();
  if (question.questionType === 'multiple_choice') for (const option of question.options ?? []) counts.set(option.id, 0);
  if (question.questionType === 'true_false') for (const value of ['true', 'false']) counts.set(value, 0);
  return counts;
}
