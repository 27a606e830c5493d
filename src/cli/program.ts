/** The commander program: flags, their parsers, help groups and examples. No behaviour. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseLimitRule, parseRate } from '../rate/limit-rules.js';
import { DEFAULTS, VERSION } from '../options.js';
import { parseByteSize } from '../text.js';

export interface GeneratorFlag {
  kind: 'range' | 'values';
  spec: string;
}

export interface CliFlags {
  rps?: number | 'auto';
  rpsMax?: number;
  hostRps?: number;
  hostConcurrency?: number;
  limit?: string[];
  burst?: number;
  concurrency: number;
  retries: number;
  maxBackoff: number;
  maxRetryAfter: number;
  timeout: number;
  method: string;
  header?: string[];
  envHeaders?: boolean;
  data?: string;
  userAgent: string;
  maxRedirects: number;
  locationTrusted?: boolean;
  output?: string;
  append?: boolean;
  resume?: boolean;
  retryFailed?: boolean;
  bodyFormat: string;
  maxBody: number;
  includeHeaders?: boolean;
  statsFile?: string;
  redactParam?: string[];
  quiet?: boolean;
  verbose?: boolean;
  progress?: boolean;
  template?: string;
  globoff?: boolean;
  inputFormat?: string;
  /** --range and --values share one list, so their order (the loop nesting) is kept. */
  range?: GeneratorFlag[];
  values?: GeneratorFlag[];
  dedupe?: boolean;
  dryRun?: boolean;
  expectStatus?: string;
  schema?: string;
  http2?: boolean;
  cacert?: string;
  failedOutput?: string;
  maxRequests?: number;
  maxErrorRate?: number;
  maxConnectionFailures: number;
  redis?: string;
  name?: string;
  localWorkers?: number;
  stalledAfter?: number;
  authCommand?: string;
  authTtl?: number;
  oauth2TokenUrl?: string;
  oauth2ClientId?: string;
  oauth2ClientSecretFile?: string;
  oauth2Scope?: string;
  paginate?: boolean;
  next?: string;
  cursor?: string;
  maxPages?: number;
  cache?: string;
  cacheMaxAge?: number;
  batch?: number;
  batchJoin?: string;
  batchSplit?: string;
  batchKey?: string;
  save?: string;
  maxFilesize?: number;
}

const EXAMPLES = `
Examples:
  $ ratefetch urls.txt --rps 5 | jq -c 'select(.ok) | .body'
  $ ratefetch urls.txt --rps 20 -c 16 -H "Authorization: Bearer $TOKEN" -o out.ndjson
  $ ratefetch urls.txt --rps auto --limit 'api.example.com/media/*=30/min' -o out.ndjson --resume
  $ cat urls.txt | ratefetch - --rps 0.5 --retries 8 --max-retry-after 300
  $ ratefetch urls.txt -X POST -d @payload.json -H 'Content-Type: application/json'
  $ ratefetch urls.txt --quiet --stats-file stats.json -o out-$(date +%F).ndjson --resume   # cron
  $ seq 1 5000 | ratefetch -t 'https://api.example.com/items/{}' --rps 20
  $ ratefetch isrcs.csv -t 'https://api.example.com/tracks?isrc={isrc}' --schema track.json
  $ jq -c '{id, country}' users.json | ratefetch --input-format ndjson -t 'https://api.example.com/users/{id}?c={country}'
  $ ratefetch --range id=1..1000 --values kind=a,b -t 'https://api.example.com/{kind}/{id}' --dry-run
  $ ratefetch -t 'https://api.example.com/pages/[001-100]' --rps 2
  $ ratefetch repos.txt --paginate --max-pages 50 --rps 1 -o pages.ndjson
  $ ratefetch urls.txt --rps 5 --cache ~/.cache/ratefetch -o out.ndjson   # nightly: only what changed
  $ ratefetch ids.txt -t 'https://api.example.com/v1/tracks?ids={}' --batch 50 --batch-split .tracks --batch-key .id --rps 2
  $ ratefetch ids.txt -t 'https://api.example.com/covers/{}' --save 'covers/{}.jpg' -o covers.ndjson --resume

Scaling out over Redis (several processes or hosts, one shared rate):
  $ ratefetch urls.txt --redis redis://host:6379 --name batch1 --rps 100 -o out.ndjson
  $ ratefetch worker --redis redis://host:6379 --name batch1 [-c 20] [-H @secret-headers]
  $ ratefetch status --redis redis://host:6379 --name batch1
  $ ratefetch clean --redis redis://host:6379 --name batch1

The morning after: ratefetch report out.ndjson [--stats stats.json] [--json]
Shell completion: ratefetch completion bash|zsh|fish (e.g. source <(ratefetch completion bash))

Each input line gets exactly one NDJSON record on stdout (or -o): see README for the schema.
Exit codes: 0 all ok, 1 some records not ok, 2 usage error, 3 stopped by --max-requests, the
circuit breaker or a credential that could not be refreshed, 70 internal error,
74 output write error, 130/143 interrupted by SIGINT/SIGTERM.
`;

export function buildProgram(): Command {
  const program = new Command('ratefetch')
    .description('Fetch every URL in a list as fast as the API allows and no faster: one NDJSON record per input line.')
    .argument('[input]', "file with one URL per line; '-' or none reads stdin")
    .version(VERSION, '--version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help and exit')
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);

  program.addOption(
    new Option('--config <file.json>', 'read options from a JSON file, each under its long name ({"rps": 2, "input": "urls.txt"}); flags given here win'),
  );

  program.optionsGroup('Input:');
  program.addOption(
    new Option('-t, --template <url>', 'URL template: {name} from a column or generator, {} the whole line, {name:raw} unencoded; curl globs [1-100] {a,b}'),
  );
  program.addOption(
    new Option('--input-format <format>', 'how to read the input (default: from the file extension, else lines)').choices(['lines', 'csv', 'tsv', 'ndjson']),
  );
  const generators: GeneratorFlag[] = [];
  const addGenerator = (kind: GeneratorFlag['kind']) => (spec: string) => {
    generators.push({ kind, spec });
    return generators;
  };
  program.addOption(
    new Option('--range <name=a..b[..step]>', 'generate values instead of reading input (repeatable: cartesian product)').argParser(addGenerator('range')),
  );
  program.addOption(new Option('--values <name=a,b,c>', 'generate listed values instead of reading input (repeatable)').argParser(addGenerator('values')));
  program.addOption(new Option('-g, --globoff', 'send [ ] { } in the template as they are, as curl -g does'));
  program.addOption(new Option('--dedupe', 'fetch identical requests once; each duplicate still gets its record (duplicateOf)'));
  program.addOption(new Option('--dry-run', 'print the planned requests as NDJSON (redacted) and send nothing'));

  program.optionsGroup('Rate:');
  program.addOption(
    new Option(
      '--rps <rate|auto>',
      "starts per second for the whole run (5, 0.5, 30/min); a ceiling the run drops below after a 429; 'auto' finds the limit (default: no cap)",
    ).argParser(rpsOrAuto),
  );
  program.addOption(new Option('--rps-max <rate>', 'with --rps auto: never go above this rate').argParser(rate('--rps-max')));
  program.addOption(new Option('--host-rps <rate>', 'starts per second for each host (hostname and port)').argParser(rate('--host-rps')));
  program.addOption(new Option('--host-concurrency <n>', 'requests in flight per host at most').argParser(wholeNumber(1)));
  program.addOption(
    new Option(
      '--limit <pattern=rate[,n]>',
      "a limit for a host or route, e.g. 'api.example.com/media/*=30/min,2' (repeatable; every limit that applies holds)",
    ).argParser(collectLimit),
  );
  program.addOption(new Option('--burst <n>', 'starts allowed back to back (default: 1, or rps × 20 ms when larger)').argParser(wholeNumber(1)));
  program.addOption(new Option('-c, --concurrency <n>', 'requests in flight at most').default(DEFAULTS.concurrency).argParser(wholeNumber(1)));

  program.addOption(new Option('--max-requests <n>', 'send at most n requests, retries and redirects included; then stop (exit 3)').argParser(wholeNumber(1)));
  program.addOption(
    new Option('--max-error-rate <fraction>', 'stop (exit 3) when more than this fraction of the last 100 attempts failed').argParser(fraction),
  );
  program.addOption(
    new Option('--max-connection-failures <n>', 'stop (exit 3) after n connection failures in a row; 0 = never')
      .default(DEFAULTS.maxConnectionFailures)
      .argParser(wholeNumber(0)),
  );

  program.optionsGroup('Retries:');
  program.addOption(new Option('--retries <n>', 'retries per input after the first attempt').default(DEFAULTS.retries).argParser(wholeNumber(0)));
  program.addOption(new Option('--max-backoff <seconds>', 'cap on computed backoff').default(DEFAULTS.maxBackoffMs / 1000).argParser(nonNegativeNumber));
  program.addOption(
    new Option('--max-retry-after <seconds>', 'fail a record (RETRY_AFTER_TOO_LONG) rather than wait longer than this')
      .default(DEFAULTS.maxRetryAfterMs / 1000)
      .argParser(nonNegativeNumber),
  );
  program.addOption(new Option('--timeout <seconds>', 'whole attempt, connect to last body byte').default(DEFAULTS.timeoutMs / 1000).argParser(positiveNumber));

  program.optionsGroup('Request:');
  program.addOption(new Option('-X, --method <method>', 'HTTP method').default(DEFAULTS.method));
  program.addOption(new Option('-H, --header <header>', "request header 'Name: value', or @file with one per line (repeatable)").argParser(collect));
  program.addOption(new Option('--env-headers', 'expand $NAME and ${NAME} in -H values from the environment, so tokens stay out of argv'));
  program.addOption(new Option('-d, --data <text|@file>', 'request body, or @file to read it from a file'));
  program.addOption(new Option('-A, --user-agent <text>', 'User-Agent header').default(DEFAULTS.userAgent));
  program.addOption(new Option('--max-redirects <n>', "redirects to follow (0 = don't follow)").default(DEFAULTS.maxRedirects).argParser(wholeNumber(0)));
  program.addOption(new Option('--http2', 'offer HTTP/2 to https servers; those that decline get HTTP/1.1'));
  program.addOption(new Option('--cacert <file>', 'also trust the CA certificates (PEM) in this file for https, e.g. a self-signed one'));
  program.addOption(new Option('--location-trusted', 'keep Authorization and Cookie on redirects to other hosts, as curl does'));

  program.optionsGroup('Credentials that expire:');
  program.addOption(
    new Option('--auth-command <cmd>', 'a command whose output is a token (or a header line): run at the start, after a 401 and every --auth-ttl'),
  );
  program.addOption(new Option('--auth-ttl <seconds>', 'ask for a fresh credential this often, besides after a 401').argParser(positiveNumber));
  program.addOption(new Option('--oauth2-token-url <url>', 'OAuth 2.0 client credentials: buy tokens here, refreshed before they expire'));
  program.addOption(new Option('--oauth2-client-id <id>', 'the client id (default: $OAUTH2_CLIENT_ID)'));
  program.addOption(new Option('--oauth2-client-secret-file <file>', 'a file holding the client secret (default: $OAUTH2_CLIENT_SECRET)'));
  program.addOption(new Option('--oauth2-scope <scope>', 'the scope to ask for'));

  program.optionsGroup('Pages:');
  program.addOption(new Option('--paginate', 'follow each input\'s Link: <…>; rel="next" header to its next page; one record per page'));
  program.addOption(new Option('--next <path>', 'follow the next-page URL at this path in the JSON body, e.g. .paging.next or .links.next.href'));
  program.addOption(
    new Option('--cursor <param=path>', "put the cursor at path in the body into query parameter param of the input's request, e.g. cursor=.meta.next_cursor"),
  );
  program.addOption(new Option('--max-pages <n>', 'pages per input at most (with --paginate, --next or --cursor)').argParser(wholeNumber(1)));

  program.optionsGroup('Cache:');
  program.addOption(new Option('--cache <dir>', 'keep answers here between runs: a fresh one is used with no request, a stale one is asked "changed?" (304)'));
  program.addOption(
    new Option('--cache-max-age <seconds>', 'with --cache: count an answer as fresh this long when the API says nothing of its freshness').argParser(
      nonNegativeNumber,
    ),
  );
  program.optionsGroup('Batch endpoints:');
  program.addOption(
    new Option('--batch <k>', "send up to k inputs in one request: their values fill the template's one placeholder, joined (1 to 1000)").argParser(
      wholeNumber(1),
    ),
  );
  program.addOption(new Option('--batch-join <text>', 'what joins the values of a batch, each encoded for its place (default: ,)'));
  program.addOption(new Option('--batch-split <path>', "the array of answers in a batch's JSON body, e.g. .tracks (. for the body itself)"));
  program.addOption(new Option('--batch-key <path>', 'the field of each answer that matches it to its input, e.g. .id'));

  program.optionsGroup('Output:');
  program.addOption(new Option('-o, --output <file>', 'write records to a file instead of stdout'));
  program.addOption(new Option('--append', 'append to the -o file instead of replacing it'));
  program.addOption(
    new Option('--resume', 'skip every input that already has a final record in the -o file and append the rest (a missing file starts afresh)'),
  );
  program.addOption(new Option('--retry-failed', 'with --resume: fetch again every input whose last record is not ok'));
  program.addOption(
    new Option('--body-format <format>', 'how bodies go into records (auto: JSON if the type says so, text for text types, else base64)')
      .choices(['auto', 'json', 'text', 'base64', 'none'])
      .default(DEFAULTS.bodyFormat),
  );
  program.addOption(
    new Option('--max-body <bytes>', 'largest decoded body kept; larger ones are BODY_TOO_LARGE').default(DEFAULTS.maxBodyBytes).argParser(wholeNumber(0)),
  );
  program.addOption(new Option('--include-headers', 'put response headers in each record'));
  program.addOption(new Option('--expect-status <list>', "statuses that count as ok, e.g. '200,404' or '2xx' (default: 2xx)"));
  program.addOption(new Option('--schema <file.json>', 'JSON Schema each JSON body must match; a mismatch is SCHEMA_MISMATCH'));
  program.addOption(new Option('--failed-output <file>', 'also write every not-ok record to this NDJSON file'));
  program.addOption(new Option('--stats-file <file>', 'write the end-of-run stats as JSON (also with --quiet)'));
  program.addOption(new Option('--redact-param <name>', 'another query parameter whose value is a secret (repeatable)').argParser(collect));

  program.optionsGroup('Bodies to files:');
  program.addOption(
    new Option(
      '--save <path>',
      "write each ok body to its own file, e.g. 'covers/{id}.jpg' ({line}: the line number); the record gets its path, size and SHA-256 instead",
    ),
  );
  program.addOption(
    new Option('--max-filesize <size>', 'with --save: largest body saved (10M, 1G, or bytes); a larger one is FILE_TOO_LARGE').argParser(byteSize),
  );

  program.optionsGroup('Scaling out (Redis):');
  program.addOption(new Option('--redis <url|socket>', "share the run through Redis (redis://host:6379 or a unix socket path); 'ratefetch worker' joins it"));
  program.addOption(new Option('--name <name>', "with --redis: the run's name, which workers, status and clean use"));
  program.addOption(
    new Option('--local-workers <n>', 'with --redis: workers in this process, 0 to leave the fetching to others (default: 1)').argParser(wholeNumber(0)),
  );
  program.addOption(
    new Option('--stalled-after <seconds>', 'with --redis: a worker silent this long has its inputs given to others (default: 30)').argParser(positiveNumber),
  );

  program.optionsGroup('Display:');
  program.addOption(new Option('-q, --quiet', 'print nothing on stderr but fatal errors'));
  program.addOption(new Option('-v, --verbose', 'one line per retry and pause; stack traces for internal errors'));
  program.addOption(new Option('--progress', 'show the live progress bar even when stderr is not a terminal'));
  program.addOption(new Option('--no-progress', 'no live progress (the summary still prints)'));

  program.addHelpText('after', EXAMPLES);
  return program;
}

function rpsOrAuto(value: string): number | 'auto' {
  return value.trim().toLowerCase() === 'auto' ? 'auto' : rate('--rps')(value);
}

function rate(flag: string): (value: string) => number {
  return (value) => {
    try {
      return parseRate(value, flag);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

function collectLimit(value: string, previous: string[] | undefined): string[] {
  try {
    parseLimitRule(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return [...(previous ?? []), value];
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('Expected a number above 0.');
  return number;
}

function fraction(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !(number >= 0 && number < 1)) throw new InvalidArgumentError('Expected a fraction from 0 up to (not including) 1, like 0.5.');
  return number;
}

export function nonNegativeNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) throw new InvalidArgumentError('Expected a number of 0 or more.');
  return number;
}

function byteSize(value: string): number {
  const bytes = parseByteSize(value);
  if (bytes === undefined) throw new InvalidArgumentError('Expected a size: bytes, or a number with K, M, G or T (10M, 1.5G).');
  return bytes;
}

export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || number < min) throw new InvalidArgumentError(`Expected a whole number of ${min} or more.`);
    return number;
  };
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
