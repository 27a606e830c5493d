/**
 * Reads the `Link` header (RFC 8288 §3): `<uri>; rel="next"; title="…", <uri2>; rel=last`.
 * Pure and total: junk in gives no links, never an exception. Parameters other than `rel` are
 * skipped; a target may hold commas and semicolons, since it ends only at its `>`.
 */

export interface Link {
  /** The URI-reference as written, not yet resolved. */
  target: string;
  /** The relation types, lower-cased (`rel="next last"` is two). */
  rels: string[];
}

/** Every link in the header's values, in order; a repeated header counts as one joined with commas. */
export function parseLinkHeader(value: string | string[] | undefined): Link[] {
  const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
  const links: Link[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('<', at);
    if (open === -1) break;
    const close = text.indexOf('>', open + 1);
    if (close === -1) break;
    const target = text.slice(open + 1, close).trim();
    const end = endOfLinkValue(text, close + 1);
    links.push({ target, rels: relsIn(text.slice(close + 1, end)) });
    at = end + 1;
  }
  return links;
}

/** The target of the first link whose relations include `rel`. */
export function findLink(value: string | string[] | undefined, rel: string): string | undefined {
  return parseLinkHeader(value).find((link) => link.rels.includes(rel))?.target;
}

/** Where a link-value's parameters end: the first comma outside a quoted string, or the end. */
function endOfLinkValue(text: string, from: number): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) return i;
  }
  return text.length;
}

// `; rel=next` or `; rel="next last"` (names are case-insensitive, RFC 8288 §3.3).
const REL_PARAM = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))/i;

function relsIn(params: string): string[] {
  const match = REL_PARAM.exec(params);
  const value = match?.[1] ?? match?.[2] ?? '';
  return value
    .toLowerCase()
    .split(/\s+/)
    .filter((rel) => rel !== '');
}
