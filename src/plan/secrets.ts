/**
 * Which names carry secrets (headers, query parameters) and the mark that replaces their values.
 * The planner keeps template variables that feed them out of records; record/redact.ts scrubs
 * them from everything printed.
 */

export const REDACTED = '[REDACTED]';

/** Header names whose values are always replaced (lower-case). */
export const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key', // common API-key headers carry the same secret as a bearer token
  'x-auth-token',
]);

/** Query (and fragment) parameter names whose values are replaced; matched case-insensitively. */
export const SECRET_PARAMS: readonly string[] = ['api_key', 'apikey', 'key', 'token', 'access_token', 'client_secret', 'signature', 'sig', 'password'];

/** decodeURIComponent that gives the text back instead of throwing on a bad escape. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
