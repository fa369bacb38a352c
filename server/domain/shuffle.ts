import { randomInt } from 'node:crypto';

/** The attempt's own order: question ids and, per multiple-choice question, its option ids. */
export type QuestionOrder = Array<{ questionId: string; optionIds?: string[] }>;

/** Fisher–Yates with a cryptographic source, so students cannot predict each other's order. */
export function shuffled<T>(items: readonly T[], random: (max: number) => number = randomInt): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** Fixes an attempt's question (and option) order at start, shuffled when the quiz says so. */
export function buildQuestionOrder(
  questions: ReadonlyArray<{ id: string; options?: ReadonlyArray<{ id: string }> | null }>,
  settings: { shuffleQuestions: boolean; shuffleOptions: boolean },
  random?: (max: number) => number,
): QuestionOrder {
  const ordered = settings.shuffleQuestions ? shuffled(questions, random) : [...questions];
  return ordered.map((question) => {
    if (!question.options) return { questionId: question.id };
    const ids = question.options.map((option) => option.id);
    return { questionId: question.id, optionIds: settings.shuffleOptions ? shuffled(ids, random) : ids };
  });
}
