import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { isUuidLike, nextFreeSlug, slugify } from '../../domain/slug.js';
import { conflict, validationError } from '../errors.js';

export interface UniqueSlugOptions {
  table: 'courses' | 'lessons';
  /** Slugs are unique within this scope (lessons: per course). */
  scope?: { column: 'course_id'; value: string };
  /** A slug the client chose: taken → 409. */
  explicit?: string;
  /** Text to derive the slug from when none was chosen. */
  title: string;
  /** Inserts the row with this slug; throws a unique violation when someone took it first. */
  insert(slug: string): Promise<string>;
}

const MAX_ATTEMPTS = 20;

/**
 * Inserts a row under a unique slug. A derived slug that loses a race to a concurrent insert
 * moves on to the next free suffix (`intro-to-sql-2`, `-3`…); the unique constraint, not a
 * JavaScript check, decides who gets which.
 */
export async function insertWithUniqueSlug(em: EntityManager, options: UniqueSlugOptions): Promise<string> {
  if (options.explicit !== undefined) {
    assertUsableSlug(options.explicit);
    try {
      return await options.insert(options.explicit);
    } catch (error) {
      if (isSlugViolation(error)) throw conflict(`The slug "${options.explicit}" is already taken`);
      throw error;
    }
  }
  let base = slugify(options.title);
  if (isUuidLike(base)) base = `${base}-x`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const scopeSql = options.scope ? ` AND ${options.scope.column} = ?` : '';
    const scopeParams = options.scope ? [options.scope.value] : [];
    const rows = await em.execute<Array<{ slug: string }>>(`SELECT slug FROM ${options.table} WHERE (slug = ? OR slug LIKE ?)${scopeSql}`, [
      base,
      `${base}-%`,
      ...scopeParams,
    ]);
    const slug = nextFreeSlug(
      base,
      rows.map((row) => row.slug),
    );
    try {
      return await options.insert(slug);
    } catch (error) {
      if (!isSlugViolation(error)) throw error;
    }
  }
  throw conflict('Could not find a free slug; try again or choose one');
}

export function assertUsableSlug(slug: string): void {
  if (isUuidLike(slug)) throw validationError('A slug may not look like a UUID (it would be mistaken for an id)');
}

export function isSlugViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException && /slug/.test(String((error as Error).message));
}
