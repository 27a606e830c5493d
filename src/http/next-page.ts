/**
 * Where the next page of an input is (issue #27): a `Link: <…>; rel="next"` header
 * (--paginate), a URL in the JSON body (--next .paging.next), or a cursor in the body that goes
 * into a query parameter of the input's own request (--cursor cursor=.meta.next_cursor).
 * Pure: the caller hands over a final response that passed its checks, and sends the page
 * through the limiter like any request.
 */
import type { ResponseOutcome } from './outcome.js';
import { findLink } from './link-header.js';

/** One step of a body path: an object key or an array index. */
export type PathStep = string | number;

export type Paging = { kind: 'link' } | { kind: 'next'; path: PathStep[]; text: string } | { kind: 'cursor'; param: string; path: PathStep[]; text: string };

// `.name`, `[0]` or `["any name"]`, one after the other: jq's simplest paths.
const STEP = /\.([A-Za-z_$@][\w$@-]*)|\[(\d+)\]|\.?\["((?:[^"\\]|\\.)*)"\]/y;

/**
 * `.paging.next`, `.links.next.href`, `.data[0].next`, `.["next-page"]`: a path into the JSON
 * body. Undefined when the text is not one.
 */
export function parseBodyPath(text: string): PathStep[] | undefined {
  if (!text.startsWith('.') && !text.startsWith('[')) return undefined;
  const steps: PathStep[] = [];
  STEP.lastIndex = 0;
  while (STEP.lastIndex < text.length) {
    const at = STEP.lastIndex;
    const match = STEP.exec(text);
    if (match === null || STEP.lastIndex === at) return undefined;
    if (match[1] !== undefined) steps.push(match[1]);
    else if (match[2] !== undefined) steps.push(Number(match[2]));
    else steps.push(JSON.parse(`"${match[3]}"`) as string);
  }
  return steps.length === 0 ? undefined : steps;
}

/** The value at `path` in a parsed JSON body; undefined when any step is missing. */
export function readBodyPath(body: unknown, path: readonly PathStep[]): unknown {
  let value = body;
  for (const step of path) {
    if (typeof step === 'number') {
      if (!Array.isArray(value)) return undefined;
      value = value[step];
    } else {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, step)) return undefined;
      value = (value as { [key: string]: unknown })[step];
    }
  }
  return value;
}

/**
 * The next page's URL, or null when there is none: no `rel="next"` link, an empty or missing
 * value, a body that is not JSON, or a link to something other than http(s).
 * `pageUrl` is the URL that answered (after redirects), which a relative link is resolved
 * against; `startUrl` is the request a cursor goes into.
 */
export function findNextPage(response: ResponseOutcome, paging: Paging, pageUrl: URL, startUrl: URL): URL | null {
  if (paging.kind === 'link') return resolveHttp(findLink(response.headers.link, 'next'), pageUrl);
  if (response.bodyEncoding !== 'json') return null;
  const value = readBodyPath(response.body, paging.path);
  if (paging.kind === 'next') return typeof value === 'string' ? resolveHttp(value, pageUrl) : null;
  if ((typeof value !== 'string' && typeof value !== 'number') || value === '') return null;
  const next = new URL(startUrl);
  next.searchParams.set(paging.param, String(value));
  return next;
}

function resolveHttp(reference: string | undefined, base: URL): URL | null {
  if (reference === undefined || reference.trim() === '') return null;
  let url: URL;
  try {
    url = new URL(reference.trim(), base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // A page's URL is the resource: its fragment never goes to the server.
  url.hash = '';
  // Credentials in a link are moved to a header by nobody, as in a redirect's Location.
  url.username = '';
  url.password = '';
  return url;
}
