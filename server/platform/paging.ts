/** A page of a list route (`?page&limit`): `page` counts from 1. */
export interface PageQuery {
  page: number;
  limit: number;
}

/** The rows a page covers, as SQL's `LIMIT` and `OFFSET`. */
export function pageWindow(query: PageQuery): { limit: number; offset: number } {
  return { limit: query.limit, offset: (query.page - 1) * query.limit };
}

/** The standard list body: the page's items, how many there are in all, and which page this is. */
export function pageOf<T>(items: T[], total: number, query: PageQuery): { items: T[]; total: number; page: number; limit: number } {
  return { items, total, page: query.page, limit: query.limit };
}
