/**
 * Rates with units and `--limit` rules. Pure: text in, validated values out.
 *
 *   parseRate('30/min') → 0.5 (per second)       parseRate('20') → 20
 *   parseLimitRule('api.example.com/media/*=30/min,2')
 *     → a rule for that host's /media/ paths: 0.5 starts per second, 2 in flight at most
 *
 * A rule's PATTERN is a host glob, optionally followed by a path glob that starts at the first
 * '/'. In both, `*` matches any run of characters (in a path, '/' included, so `/media/*` covers
 * `/media/a/b`) and `?` one character. A host glob without a port matches every port. The query
 * string is not part of the path a rule sees.
 */
import { UsageError } from '../errors.js';
import { escapeRegExp } from '../text.js';

export interface LimitRule {
  /** The rule as the user wrote it, for messages and labels. */
  text: string;
  /** True when the pattern names paths: a 429 then pauses this route, not its whole host. */
  isRoute: boolean;
  /** Starts per second allowed for what the rule matches. */
  rps: number;
  /** Requests in flight at most for what the rule matches; Infinity when not given. */
  concurrency: number;
  matches(url: URL): boolean;
}

const UNIT_SECONDS: { [unit: string]: number } = {
  s: 1,
  sec: 1,
  second: 1,
  m: 60,
  min: 60,
  minute: 60,
  h: 3600,
  hr: 3600,
  hour: 3600,
  d: 86400,
  day: 86400,
};

const RATE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:\/\s*([a-z]+)\s*)?$/i;

/** Seconds per unit; a plural only of a word (`mins`, `hours`), so `ms` is not minutes. */
function unitSeconds(unit: string): number | undefined {
  const singular = unit.length > 2 && unit.endsWith('s') ? unit.slice(0, -1) : unit;
  return UNIT_SECONDS[unit] ?? (singular.length > 1 ? UNIT_SECONDS[singular] : undefined);
}

/**
 * A rate in starts per second from `5`, `5/s`, `30/min`, `1000/h` or `10000/day` (plural and
 * short unit names accepted). `requireUnit` is for --limit, whose docs always show a unit.
 */
export function parseRate(text: string, what: string, requireUnit = false): number {
  const match = RATE.exec(text);
  const unit = match?.[2]?.toLowerCase();
  const seconds = unit === undefined ? 1 : unitSeconds(unit);
  if (!match || seconds === undefined || (requireUnit && unit === undefined)) {
    throw new UsageError(`Expected ${what} to be a rate such as 5/s, 30/min or 1000/h, got \`${text}\`.`);
  }
  const rps = Number(match[1]) / seconds;
  if (!(rps > 0)) throw new UsageError(`Expected ${what} to be a rate above 0, got \`${text}\`.`);
  return rps;
}

/** `PATTERN=RATE[,CONCURRENCY]`, e.g. `*.example.com=5/s` or `api.example.com/media/*=30/min,2`. */
export function parseLimitRule(text: string): LimitRule {
  const what = `--limit \`${text}\``;
  const equals = text.lastIndexOf('=');
  if (equals <= 0) {
    throw new UsageError(`Expected ${what} to be PATTERN=RATE[,CONCURRENCY], e.g. 'api.example.com/media/*=30/min,2'.`);
  }
  const pattern = text.slice(0, equals).trim();
  const [rateText = '', concurrencyText, ...extra] = text.slice(equals + 1).split(',');
  if (pattern.includes('://')) throw new UsageError(`Expected ${what} to start with a host glob such as api.example.com or *.example.com (no scheme).`);
  if (extra.length > 0) throw new UsageError(`Expected ${what} to have at most one comma after the rate (RATE,CONCURRENCY).`);
  const rps = parseRate(rateText, `the rate in ${what}`, true);
  let concurrency = Infinity;
  if (concurrencyText !== undefined) {
    concurrency = /^\s*\d+\s*$/.test(concurrencyText) ? Number(concurrencyText) : NaN;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new UsageError(`Expected the concurrency in ${what} to be a whole number of 1 or more, got \`${concurrencyText.trim()}\`.`);
    }
  }
  const slash = pattern.indexOf('/');
  const hostPattern = (slash === -1 ? pattern : pattern.slice(0, slash)).toLowerCase();
  const pathPattern = slash === -1 ? undefined : pattern.slice(slash);
  if (hostPattern === '' || /[\s@]/.test(hostPattern)) {
    throw new UsageError(`Expected ${what} to start with a host glob such as api.example.com or *.example.com (no scheme).`);
  }
  // An IPv6 literal is in brackets; its own colons are not a port.
  const hasPort = hostPattern.startsWith('[') ? /\]:[\d*?]+$/.test(hostPattern) : /:[\d*?]+$/.test(hostPattern);
  const host = globToRegExp(hostPattern);
  const path = pathPattern === undefined ? undefined : globToRegExp(pathPattern);
  return {
    text,
    isRoute: path !== undefined,
    rps,
    concurrency,
    matches(url) {
      // URL.host omits a scheme's default port; compare with it filled in when the rule has one.
      const authority = hasPort && url.port === '' ? `${url.hostname}:${defaultPort(url)}` : hasPort ? url.host : url.hostname;
      return host.test(authority.toLowerCase()) && (path === undefined || path.test(url.pathname));
    },
  };
}

function defaultPort(url: URL): string {
  return url.protocol === 'https:' ? '443' : '80';
}

function globToRegExp(glob: string): RegExp {
  // `*` is any run of characters, `?` any one; the rest is literal.
  const body = glob
    .split('*')
    .map((part) => part.split('?').map(escapeRegExp).join('.'))
    .join('.*');
  return new RegExp(`^${body}$`, 's');
}
