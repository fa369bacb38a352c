// Property builders shared by every entity: the UUID key and the timestamps. Each call returns a
// fresh builder, so entities never share option objects.
import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';

/**
 * UUID v4 primary key: generated in JS on create (so the id is known before the flush) and
 * defaulted by PostgreSQL (so raw SQL inserts work too).
 */
export const uuidPrimaryKey = () =>
  p
    .uuid()
    .primary()
    .defaultRaw('gen_random_uuid()')
    .onCreate(() => randomUUID());

/** `timestamptz not null default now()`, also set in JS when the entity is created. */
export const createdAt = () =>
  p
    .datetime()
    .columnType('timestamptz')
    .defaultRaw('now()')
    .onCreate(() => new Date());

/** Like `createdAt`, and refreshed in JS on every ORM update. */
export const updatedAt = () =>
  p
    .datetime()
    .columnType('timestamptz')
    .defaultRaw('now()')
    .onCreate(() => new Date())
    .onUpdate(() => new Date());

/** A nullable `timestamptz`. */
export const optionalTimestamp = () => p.datetime().columnType('timestamptz').nullable();

/** `jsonb not null default '{}'`: free-form extra data. */
export const metadataJson = () =>
  p
    .json<Record<string, unknown>>()
    .columnType('jsonb')
    .defaultRaw(`'{}'`)
    .onCreate(() => ({}));

/**
 * A `varchar(50)` restricted to `values` by a CHECK constraint named `<table>_<column>_check`.
 *
 * Why `p.enum` and not a string plus an entity-level check: when MikroORM reads a PostgreSQL
 * schema back, it takes every single-column `col = ANY (ARRAY[...])` CHECK for an enum
 * definition of that column (and drops it from the table's checks). A plain string property
 * with an explicit check therefore always diffs ("drop check, alter type, add check"); an enum
 * property whose items equal the array (same order) diffs empty. The initial migration writes
 * the constraints with these exact names and items.
 */
export const enumColumn = <const T extends readonly string[]>(values: T) => p.enum([...values] as T[number][]).columnType('varchar(50)');
