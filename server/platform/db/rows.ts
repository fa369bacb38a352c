import type { Collection, Ref } from '@mikro-orm/core';

/** `completedLessonsCount` → `completed_lessons_count`. */
type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** A column's value as the driver returns it in a raw row: `timestamptz` as a string. */
type RawValue<V> = V extends Date ? string : V;

/**
 * The row a raw query returns for an entity's table, derived from the entity (the schema's one
 * definition, docs/data-access.md): columns in snake_case, relations as `<name>_id`, timestamps as
 * strings, and the `numeric` columns named in `Decimals` as strings (the driver does not turn them
 * into numbers). Collections (the other side of a relation) are not columns and are left out. A
 * query adds what it joins: `RowOf<IQuizAttempt, 'score'> & { student_id: string }`.
 */
export type RowOf<E, Decimals extends keyof E = never> = {
  [
    K in keyof E as K extends string
      ? NonNullable<E[K]> extends Collection<object>
        ? never
        : NonNullable<E[K]> extends Ref<object>
          ? `${SnakeCase<K>}_id`
          : SnakeCase<K>
      : never
  ]: K extends Decimals
    ? string | (null extends E[K] ? null : never)
    : NonNullable<E[K]> extends Ref<object>
      ? string | (null extends E[K] ? null : never)
      : RawValue<NonNullable<E[K]>> | (null extends E[K] ? null : never);
};
