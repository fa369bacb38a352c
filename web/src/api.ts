// The session and every HTTP call. The access token lives in this module's memory only; the
// refresh token is the server's httpOnly, SameSite=Strict cookie on /api/auth, so a reload or a
// second tab signs in again by POST /api/auth/refresh without the page ever seeing it.
import { observeServerNow } from './clock.js';
import { Store } from './store.js';
import type { Session, User } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export type AuthState = { status: 'loading' } | { status: 'signed-out'; notice?: string } | { status: 'signed-in'; user: User };

export const auth = new Store<AuthState>({ status: 'loading' });
/** Called with each new access token (the live socket sends it as `auth:refresh`). */
export const tokenChanges = new Store<string | null>(null);

let accessToken: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | null = null;

export const SESSION_EXPIRED = 'Your session has expired. Please sign in again.';

export function currentAccessToken(): string | null {
  return accessToken;
}

function tokenExpiry(token: string): number | null {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

function adopt(session: Session): void {
  accessToken = session.accessToken;
  tokenChanges.set(accessToken);
  clearTimeout(refreshTimer);
  const expiresAt = tokenExpiry(session.accessToken);
  if (expiresAt !== null) {
    // A minute early (or at 80 % of a short lifetime), so requests never carry a token about to lapse.
    const lifetime = expiresAt - Date.now();
    const wait = Math.max(1000, lifetime > 300_000 ? lifetime - 60_000 : lifetime * 0.8);
    refreshTimer = setTimeout(() => void refresh(), wait);
  }
  const state = auth.get();
  if (state.status !== 'signed-in' || state.user.id !== session.user.id || state.user.role !== session.user.role) {
    auth.set({ status: 'signed-in', user: session.user });
  }
}

function signOutLocally(notice?: string): void {
  accessToken = null;
  clearTimeout(refreshTimer);
  tokenChanges.set(null);
  const current = auth.get();
  // Requests still in flight fail after the first one signed out: keep the message it left.
  if (current.status === 'signed-out' && !notice) return;
  auth.set({ status: 'signed-out', ...(notice ? { notice } : {}) });
}

async function readError(response: Response): Promise<ApiError> {
  let body: { code?: string; message?: string } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  return new ApiError(response.status, body.code ?? 'HTTP_' + response.status, body.message ?? response.statusText, retryAfter);
}

async function postRefresh(): Promise<Response> {
  return fetch('/api/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', credentials: 'same-origin' });
}

/**
 * One refresh at a time in this tab, and across tabs through a Web Lock: two tabs rotating the
 * same cookie at once would otherwise see 409 TOKEN_ROTATED (handled too: the winner's cookie
 * is already in the jar, so one more try uses it).
 */
export function refresh(notice = SESSION_EXPIRED): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const run = async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const response = await postRefresh();
          if (response.ok) {
            adopt((await response.json()) as Session);
            return true;
          }
          const error = await readError(response);
          if (error.code === 'TOKEN_ROTATED' || error.status === 503) {
            await new Promise((resolve) => setTimeout(resolve, 200 * (attempt + 1)));
            continue;
          }
          signOutLocally(auth.get().status === 'signed-in' ? notice : undefined);
          return false;
        }
        signOutLocally(notice);
        return false;
      };
      return navigator.locks ? await navigator.locks.request('classroom-refresh', run) : await run();
    } catch {
      // Offline: keep the state; the next request or the online event tries again.
      return accessToken !== null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Restores the session on page load from the refresh cookie, if there is one. */
export async function restoreSession(): Promise<void> {
  const ok = await refresh();
  if (!ok && auth.get().status === 'loading') auth.set({ status: 'signed-out' });
}

export async function login(email: string, password: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, useCookie: true }),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check your connection and try again.');
  }
  if (!response.ok) {
    const error = await readError(response);
    if (error.status === 401) throw new ApiError(401, error.code, 'Wrong email or password.');
    if (error.status === 429) throw new ApiError(429, error.code, `Too many sign-in attempts. Try again in ${error.retryAfter ?? 60} seconds.`);
    if (error.status === 400) throw new ApiError(400, error.code, 'Enter a valid email address and a password of at least 8 characters.');
    throw error;
  }
  adopt((await response.json()) as Session);
}

export async function logout(): Promise<void> {
  try {
    if (accessToken) await request('POST', '/api/auth/logout', {});
  } finally {
    signOutLocally('You are signed out.');
  }
}

/**
 * A JSON call to the API with the access token; a 401 refreshes once and retries, and a failed
 * refresh signs out with a message saying the session expired.
 */
export async function request<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  if (!accessToken && !retried) await refresh();
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: { ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached right now; retrying when the connection is back.');
  }
  if (response.status === 401 && !retried) {
    if (await refresh()) return request<T>(method, path, body, true);
    throw new ApiError(401, 'UNAUTHORIZED', SESSION_EXPIRED);
  }
  if (!response.ok) throw await readError(response);
  if (response.status === 204) return undefined as T;
  const json = (await response.json()) as T;
  if (json && typeof json === 'object' && 'serverNow' in json) observeServerNow((json as { serverNow?: string }).serverNow);
  return json;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
};

/** A message for a person, whatever failed. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return `Not allowed: ${error.message}`;
    if (error.status === 404) return 'Not found: it may have been removed, or you do not have access to it.';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
