/** Commander's parse as the CLI wants it: every mistake a UsageError on one line, --help and --version a plain exit 0. */
import { type Command, CommanderError } from 'commander';
import { UsageError } from '../errors.js';

/**
 * Parses `argv` with `program` (set up with exitOverride). True when it printed help or the
 * version and the caller should exit 0; a mistake throws a UsageError, `prefix` in front.
 */
export function parseArgs(program: Command, argv: readonly string[], prefix = ''): boolean {
  try {
    program.parse([...argv], { from: 'user' });
    return false;
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.exitCode === 0) return true;
    throw new UsageError(`${prefix}${oneLine(error.message)}`);
  }
}

/** Commander's message without its `error: ` and line breaks. */
export function oneLine(message: string): string {
  return message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
