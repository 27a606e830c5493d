/** A credential from a source (a command, an OAuth 2.0 token endpoint): the header it makes, and when it expires. */
export interface Grant {
  /** The header to send, e.g. `Authorization`. */
  name: string;
  /** Its value, e.g. `Bearer eyJ…`: a secret. */
  value: string;
  /** When the source should be asked again, epoch ms; undefined: only after a 401 or --auth-ttl. */
  refreshAtMs?: number;
}

/** Where credentials come from: asked at the start, after a 401, and when they are due. */
export type GrantSource = () => Promise<Grant>;

/** Why a source gave no credential, in one sentence with nothing secret in it. */
export class AuthError extends Error {
  override name = 'AuthError';
}

/** A source's output: a whole header line (`X-Api-Key: abc`), else a bearer token. */
export function grantFromText(text: string, what: string): Grant {
  const line = text
    .split(/\r?\n/)
    .find((each) => each.trim() !== '')
    ?.trim();
  if (line === undefined) throw new AuthError(`${what} printed nothing`);
  const header = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+):\s*(\S.*)$/.exec(line);
  if (header && !/^bearer\s/i.test(line)) return { name: header[1]!, value: header[2]!.trim() };
  if (/\s/.test(line.replace(/^bearer\s+/i, ''))) throw new AuthError(`${what} printed more than a token on its first line (the output is not shown)`);
  return { name: 'Authorization', value: /^bearer\s/i.test(line) ? line : `Bearer ${line}` };
}
