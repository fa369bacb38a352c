const UUID_LIKE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lower-case ASCII words joined by `-`: `Intro to SQL!` → `intro-to-sql`. */
export function slugify(text: string, maxLength = 200): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug || 'untitled';
}

export const SLUG_PATTERN = '^[a-z0-9]+(?:-[a-z0-9]+)*$';

/** Slugs that look like UUIDs would make `/courses/:idOrSlug` ambiguous. */
export function isUuidLike(value: string): boolean {
  return UUID_LIKE.test(value);
}

/**
 * The first free slug among `base`, `base-2`, `base-3`…, given the slugs already taken that
 * start with `base`.
 */
export function nextFreeSlug(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!used.has(candidate)) return candidate;
  }
}
