/** Flags → RunOptions: the files some flags name (-H @file, -d @file, --schema, --cacert) are read here. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError, describeErrno } from '../errors.js';
import type { BodyFormat, RunOptions } from '../options.js';
import type { CliFlags } from './program.js';

export function toRunOptions(flags: CliFlags, template: string | undefined, env: NodeJS.ProcessEnv): Partial<RunOptions> {
  const { headers, secretHeaders } = readHeaders(flags.header ?? [], flags.envHeaders === true ? env : undefined);
  return {
    template,
    maxRequests: flags.maxRequests,
    maxErrorRate: flags.maxErrorRate,
    maxConnectionFailures: flags.maxConnectionFailures,
    dedupe: flags.dedupe === true,
    expectStatus: flags.expectStatus,
    schema: flags.schema === undefined ? undefined : readSchema(flags.schema),
    ...rateOptions(flags),
    burst: flags.burst,
    concurrency: flags.concurrency,
    hostRps: flags.hostRps,
    hostConcurrency: flags.hostConcurrency,
    limits: flags.limit ?? [],
    retries: flags.retries,
    maxBackoffMs: flags.maxBackoff * 1000,
    maxRetryAfterMs: flags.maxRetryAfter * 1000,
    timeoutMs: flags.timeout * 1000,
    http2: flags.http2 === true,
    caCertificates: flags.cacert === undefined ? undefined : readCaCertificates(flags.cacert),
    method: flags.method,
    headers,
    // A value kept out of argv is a token: secret, and sent as it is even if it holds braces.
    secretHeaders,
    literalHeaders: secretHeaders,
    body: flags.data === undefined ? undefined : readData(flags.data),
    userAgent: flags.userAgent,
    maxRedirects: flags.maxRedirects,
    locationTrusted: flags.locationTrusted === true,
    bodyFormat: flags.bodyFormat as BodyFormat,
    maxBodyBytes: flags.maxBody,
    includeHeaders: flags.includeHeaders === true,
    redactParams: flags.redactParam ?? [],
    authCommand: flags.authCommand,
    authTtlMs: flags.authTtl === undefined ? undefined : flags.authTtl * 1000,
    oauth2: oauth2Options(flags, env),
    paginate: flags.paginate === true,
    nextPath: flags.next,
    cursor: flags.cursor,
    maxPages: flags.maxPages,
    cacheDir: flags.cache,
    cacheMaxAgeMs: flags.cacheMaxAge === undefined ? undefined : flags.cacheMaxAge * 1000,
    batch: flags.batch,
    batchJoin: flags.batchJoin,
    batchSplit: flags.batchSplit,
    batchKey: flags.batchKey,
    save: flags.save,
    maxFileBytes: flags.maxFilesize,
  };
}

/** The first of `flags` that was given, for "X goes with Y" when Y was not. */
export function firstGiven(flags: ReadonlyArray<readonly [flag: string, value: unknown]>): string | undefined {
  return flags.find(([, value]) => value !== undefined)?.[0];
}

/** --oauth2-*: the secret from a file or the environment, never from argv. */
function oauth2Options(flags: CliFlags, env: NodeJS.ProcessEnv): RunOptions['oauth2'] {
  if (flags.oauth2TokenUrl === undefined) {
    const stray = firstGiven([
      ['--oauth2-client-id', flags.oauth2ClientId],
      ['--oauth2-client-secret-file', flags.oauth2ClientSecretFile],
      ['--oauth2-scope', flags.oauth2Scope],
    ]);
    if (stray !== undefined) throw new UsageError(`${stray} goes with --oauth2-token-url.`);
    return undefined;
  }
  let clientSecret = env.OAUTH2_CLIENT_SECRET ?? '';
  if (flags.oauth2ClientSecretFile !== undefined) {
    try {
      clientSecret = readFileSync(flags.oauth2ClientSecretFile, 'utf8').trim();
    } catch (error) {
      throw new UsageError(`--oauth2-client-secret-file cannot read ${flags.oauth2ClientSecretFile}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
    }
  }
  return {
    tokenUrl: flags.oauth2TokenUrl,
    clientId: flags.oauth2ClientId ?? env.OAUTH2_CLIENT_ID ?? '',
    clientSecret,
    ...(flags.oauth2Scope !== undefined && { scope: flags.oauth2Scope }),
  };
}

/** `--rps auto [--rps-max M]` finds the rate under M; `--rps N` is a fixed ceiling. */
function rateOptions(flags: CliFlags): { rps: number | undefined; autoRate: boolean } {
  if (flags.rps === 'auto') return { autoRate: true, rps: flags.rpsMax };
  if (flags.rpsMax !== undefined) {
    throw new UsageError('--rps-max goes with --rps auto; a fixed --rps is already the most the run sends.');
  }
  return { autoRate: false, rps: flags.rps };
}

function readCaCertificates(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--cacert cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`--cacert ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  return text;
}

function readSchema(path: string): { document: unknown; source: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--schema cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  try {
    return { document: JSON.parse(text), source: basename(path) };
  } catch (error) {
    throw new UsageError(`--schema ${path} is not JSON: ${(error as Error).message}.`);
  }
}

/**
 * -H values in order: 'Name: value', or @file with one such line per line (blank and # lines
 * skipped), so a token need not sit in argv. With --env-headers, $NAME and ${NAME} in values
 * come from the environment. No message here ever shows a value: any of them may be a token.
 * A value kept out of argv that way is a secret whatever its header's name (X-Vendor-Key).
 */
export function readHeaders(args: readonly string[], env: NodeJS.ProcessEnv | undefined): { headers: Array<[string, string]>; secretHeaders: string[] } {
  const headers: Array<[string, string]> = [];
  const secretHeaders: string[] = [];
  for (const arg of args) {
    if (!arg.startsWith('@')) {
      headers.push(parseHeader(arg, '-H', 'the argument given'));
      continue;
    }
    const path = arg.slice(1);
    if (path === '') throw new UsageError('-H @ needs a file name, as in -H @headers.txt.');
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`-H cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
    }
    text.split('\n').forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const header = parseHeader(line, `-H @${path} line ${index + 1}`, 'the line');
      headers.push(header);
      secretHeaders.push(header[0]);
    });
  }
  const expanded =
    env === undefined
      ? headers
      : headers.map(([name, value]): [string, string] => {
          const filled = expandEnv(value, name, env);
          if (filled !== value) secretHeaders.push(name);
          return [name, filled];
        });
  for (const [name, value] of expanded) {
    // undici refuses such a value on every request; say so once, before anything is sent.
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
      throw new UsageError(`the ${name} header value has a control character such as a newline (the value is not shown, as it may hold a secret).`);
    }
  }
  return { headers: expanded, secretHeaders };
}

function parseHeader(text: string, where: string, what: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon === -1 ? '' : text.slice(0, colon).trim();
  if (name === '' || /\s/.test(name)) {
    // The argument may hold a token typed without its colon: never echo it.
    throw new UsageError(`${where} expects 'Name: value' (${what} is not shown, as it may hold a secret).`);
  }
  return [name, text.slice(colon + 1).trim()];
}

// $NAME, ${NAME}, or $$ for a literal $. Anything else after a $ stays as written.
const ENV_REFERENCE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))/g;

/** --env-headers: fills $NAME from the environment; an unset or empty one is named, never its value. */
function expandEnv(value: string, header: string, env: NodeJS.ProcessEnv): string {
  return value.replace(ENV_REFERENCE, (_match, braced: string | undefined, bare: string | undefined, dollar: string | undefined) => {
    if (dollar !== undefined) return '$';
    const name = (braced ?? bare)!;
    const found = env[name];
    if (found === undefined || found === '') {
      throw new UsageError(`--env-headers: $${name} (in the ${header} header) is ${found === undefined ? 'not set' : 'empty'} in the environment.`);
    }
    return found;
  });
}

function readData(data: string): string | Uint8Array {
  if (!data.startsWith('@')) return data;
  const path = data.slice(1);
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`-d cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
}
