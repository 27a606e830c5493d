/**
 * Builds the next hop of a redirect, or says why there is none. Pure: the scheduler sends
 * every hop through the limiter like any other request.
 */
import type { ErrorCode } from '../record/error-codes.js';
import type { AttemptRequest } from './attempt.js';

export type RedirectStep =
  | { kind: 'follow'; request: AttemptRequest }
  | { kind: 'stop'; code: Extract<ErrorCode, 'TOO_MANY_REDIRECTS' | 'BAD_REDIRECT'>; message: string };

// Credentials are for the origin they were given for; curl and browsers drop them across origins.
export const ORIGIN_BOUND_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);
export const BODY_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-length', 'content-encoding', 'transfer-encoding']);

export function nextHop(
  current: AttemptRequest,
  status: number,
  location: string,
  hopsTaken: number,
  maxRedirects: number,
  visited: ReadonlySet<string>,
  /** --location-trusted: the user vouches for every host the redirects lead to, as in curl. */
  locationTrusted = false,
): RedirectStep {
  let target: URL;
  try {
    target = new URL(location, current.url);
  } catch {
    return { kind: 'stop', code: 'BAD_REDIRECT', message: `${status} redirect to an invalid Location` };
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return { kind: 'stop', code: 'BAD_REDIRECT', message: `${status} redirect to a ${target.protocol.slice(0, 20)} URL, which is not fetched` };
  }
  if (hopsTaken >= maxRedirects) {
    return { kind: 'stop', code: 'TOO_MANY_REDIRECTS', message: `more than ${maxRedirects} redirects (--max-redirects)` };
  }

  // 303 always becomes GET; 301/302 turn a POST into GET, as fetch and browsers do.
  const becomesGet = (status === 303 && current.method !== 'HEAD') || ((status === 301 || status === 302) && current.method === 'POST');
  const method = becomesGet ? 'GET' : current.method;
  if (visited.has(`${method} ${target.href}`)) {
    return { kind: 'stop', code: 'TOO_MANY_REDIRECTS', message: 'redirect loop' };
  }

  const crossesOrigin = target.origin !== current.url.origin;
  const headers = current.headers.filter(([name]) => {
    const lower = name.toLowerCase();
    if (crossesOrigin && !locationTrusted && ORIGIN_BOUND_HEADERS.has(lower)) return false;
    if (becomesGet && BODY_HEADERS.has(lower)) return false;
    return true;
  });
  const body = becomesGet ? undefined : current.body;
  // Credentials in a Location are moved to a Basic header by nobody: drop them from the URL.
  target.username = '';
  target.password = '';
  return { kind: 'follow', request: { method, url: target, headers, body } };
}

export function requestId(request: AttemptRequest): string {
  return `${request.method} ${request.url.href}`;
}
