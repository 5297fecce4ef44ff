// Fetch wrapper: same-origin JSON, the session's CSRF token on mutating requests,
// errors as ApiError with the server's {code, message}.
import type { ApiErrorBody } from './types';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.code = body.code;
  }
}

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<() => void>();

export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

/** Called whenever a request answers 401 (the session ended): the app shows the login page. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export async function request<T>(method: Method, path: string, body?: unknown, opts: { quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body !== undefined ? JSON.stringify(body) : method === 'GET' ? undefined : undefined,
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { code: 'Unavailable', message: 'The StackSnap server cannot be reached. Is it running?' });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const b = (data ?? {}) as Partial<ApiErrorBody>;
    const err = new ApiError(res.status, {
      code: b.code ?? `HTTP${res.status}`,
      message: b.message ?? `${res.status} ${res.statusText || 'request failed'}`,
    });
    if (res.status === 401 && !opts.quiet401) unauthorizedListeners.forEach((fn) => fn());
    throw err;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, opts?: { quiet401?: boolean }) => request<T>('GET', path, undefined, opts),
  post: <T>(path: string, body: unknown = {}, opts?: { quiet401?: boolean }) => request<T>('POST', path, body, opts),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  del: <T = void>(path: string) => request<T>('DELETE', path),
};

export function enc(s: string): string {
  return encodeURIComponent(s);
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
