import { randomUUID } from 'node:crypto';
import type { QuestionType } from '../../entities/enums.js';
import type { ChoiceOption, ShortAnswerKey } from './grading.js';

export interface QuestionDraft {
  questionType: QuestionType;
  options?: Array<{ id?: string; text: string; isCorrect: boolean }> | null;
  correctAnswer?: unknown;
}

export interface NormalizedQuestionContent {
  options: ChoiceOption[] | null;
  correctAnswer: unknown;
}

export class QuestionRuleError extends Error {
  override name = 'QuestionRuleError';
}

/**
 * Validates a question's content for its type and returns what is stored:
 * multiple choice → `[{id, text, isCorrect}]` (ids generated when absent), at least two options
 * and one correct, no `correctAnswer`; true/false → `correctAnswer` a boolean; short answer →
 * `correctAnswer: {accepted: [...], caseSensitive}` with at least one non-blank accepted answer.
 */
export function normalizeQuestionContent(draft: QuestionDraft): NormalizedQuestionContent {
  switch (draft.questionType) {
    case 'multiple_choice': {
      const options = draft.options ?? [];
      if (options.length < 2) throw new QuestionRuleError('A multiple-choice question needs at least two options');
      if (!options.some((option) => option.isCorrect)) throw new QuestionRuleError('A multiple-choice question needs at least one correct option');
      if (draft.correctAnswer !== undefined && draft.correctAnswer !== null) {
        throw new QuestionRuleError('Multiple-choice questions mark correct options with isCorrect, not correctAnswer');
      }
      const normalized = options.map((option) => ({ id: option.id ?? randomUUID(), text: option.text, isCorrect: option.isCorrect }));
      if (new Set(normalized.map((option) => option.id)).size !== normalized.length) throw new QuestionRuleError('Option ids must be unique');
      return { options: normalized, correctAnswer: null };
    }
    case 'true_false':
      if (draft.options) throw new QuestionRuleError('A true/false question has no options');
      if (typeof draft.correctAnswer !== 'boolean') throw new QuestionRuleError('A true/false question needs correctAnswer: true or false');
      return { options: null, correctAnswer: draft.correctAnswer };
    case 'short_answer': {
      if (draft.options) throw new QuestionRuleError('A short-answer question has no options');
      const key = draft.correctAnswer as Partial<ShortAnswerKey> | null | undefined;
      if (!key || typeof key !== 'object' || !Array.isArray(key.accepted)) {
        throw new QuestionRuleError('A short-answer question needs correctAnswer: {accepted: ["…"], caseSensitive?: boolean}');
      }
      const accepted = key.accepted.filter((answer): answer is string => typeof answer === 'string' && answer.trim() !== '');
      if (accepted.length === 0 || accepted.length !== key.accepted.length) {
        throw new QuestionRuleError('correctAnswer.accepted must be a list of non-empty strings');
      }
      if (key.caseSensitive !== undefined && typeof key.caseSensitive !== 'boolean') throw new QuestionRuleError('caseSensitive must be a boolean');
      const extra = Object.keys(key).filter((name) => name !== 'accepted' && name !== 'caseSensitive');
      if (extra.length) throw new QuestionRuleError(`Unknown field in correctAnswer: ${extra.join(', ')}`);
      return { options: null, correctAnswer: { accepted, caseSensitive: key.caseSensitive ?? false } };
    }
  }
}
