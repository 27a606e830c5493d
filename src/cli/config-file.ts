/**
 * --config job.json: the options of a repeat job in a file, each under its long name
 * ({"rps": 2, "output": "out.ndjson", "resume": true, "header": ["Authorization: Bearer $TOKEN"]}),
 * and "input" for the input file. The file becomes flags in front of the command line's, and
 * goes through the same parsers and checks: a flag given on the command line wins, and a list
 * option given there (-H, --limit …) replaces the file's list. Only the file named is read:
 * nothing is picked up from the working directory.
 */
import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { UsageError, describeErrno } from '../errors.js';
import { parseArgs } from './parse-args.js';

/** Options that take a list: a JSON array there, each element one flag. */
const LIST_OPTIONS = new Set(['--header', '--limit', '--redact-param', '--range', '--values']);
/** Options that make no sense in a file. */
const NOT_IN_FILE = new Set(['--config', '--help', '--version']);

/** argv with the --config file's options in front, and --config itself taken out. */
export function withConfigFile(argv: readonly string[], buildProgram: () => Command): string[] {
  const at = argv.findIndex((arg) => arg === '--config' || arg.startsWith('--config='));
  if (at === -1) return [...argv];
  const path = argv[at]!.startsWith('--config=') ? argv[at]!.slice('--config='.length) : argv[at + 1];
  if (path === undefined || path === '') throw new UsageError('--config needs a file, as in --config job.json.');
  const rest = [...argv.slice(0, at), ...argv.slice(at + (argv[at]!.includes('=') ? 1 : 2))];
  if (rest.some((arg) => arg === '--config' || arg.startsWith('--config='))) throw new UsageError('--config may be given once.');

  const options = buildProgram().options;
  const given = new Set(rest.map((arg) => longNameOf(arg, options)).filter((name) => name !== undefined));
  const fromFile: string[] = [];
  for (const [key, value] of Object.entries(readConfig(path))) {
    const where = `--config ${path}: "${key}"`;
    if (key === 'input') {
      if (typeof value !== 'string') throw new UsageError(`${where} must be a file name (a string).`);
      // The command line's input wins: the file's goes last, where a positional argument would.
      if (!hasPositional(rest, options)) rest.push(value);
      continue;
    }
    const option = options.find((candidate) => candidate.long === `--${key}` || (candidate.negate && candidate.long === `--no-${key}`));
    if (option === undefined || NOT_IN_FILE.has(`--${key}`)) {
      throw new UsageError(`${where} is not an option (keys are long option names, such as "rps" or "max-retry-after", and "input").`);
    }
    const tokens = toFlags(value, option, where);
    checkAlone(tokens, buildProgram, where);
    const name = option.negate ? `--${key}` : option.long!;
    if (LIST_OPTIONS.has(name) && given.has(name)) continue; // the command line's list replaces it
    fromFile.push(...tokens);
  }
  return [...fromFile, ...rest];
}

function readConfig(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--config cannot read ${path}: ${describeErrno(error as NodeJS.ErrnoException)}.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${path} is not JSON: ${(error as Error).message}.`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`--config ${path} must hold one JSON object of options, such as {"rps": 2}.`);
  }
  return parsed as Record<string, unknown>;
}

/** The flags one key stands for. */
function toFlags(value: unknown, option: Option, where: string): string[] {
  const takesValue = option.required || option.optional;
  if (!takesValue) {
    if (typeof value !== 'boolean') throw new UsageError(`${where} is a switch: true or false.`);
    if (option.negate) return value ? [] : [option.long!]; // "progress": false → --no-progress
    return value ? [option.long!] : [];
  }
  const long = option.long!;
  const values = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) && !LIST_OPTIONS.has(long)) throw new UsageError(`${where} takes one value, not a list.`);
  return values.flatMap((each) => {
    if (typeof each !== 'string' && typeof each !== 'number') {
      throw new UsageError(`${where} must be ${LIST_OPTIONS.has(long) ? 'a string or a list of strings' : 'a string or a number'}.`);
    }
    return [long, String(each)];
  });
}

/** Parses one key's flags on their own, so a bad value is reported against the key and the file. */
function checkAlone(tokens: string[], buildProgram: () => Command, where: string): void {
  const program = buildProgram()
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .allowExcessArguments(true);
  parseArgs(program, tokens, `${where}: `);
}

function longNameOf(arg: string, options: readonly Option[]): string | undefined {
  if (!arg.startsWith('-')) return undefined;
  const flag = arg.split('=')[0]!;
  const option = options.find((candidate) => candidate.long === flag || candidate.short === flag);
  return option?.long;
}

/** Whether argv names an input (a word that is not an option or an option's value). */
function hasPositional(argv: readonly string[], options: readonly Option[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return i + 1 < argv.length;
    if (arg === '-') return true;
    if (!arg.startsWith('-')) return true;
    const option = options.find((candidate) => candidate.long === arg || candidate.short === arg);
    if (option && (option.required || option.optional) && !arg.includes('=')) i += 1;
  }
  return false;
}
