/** Colour on stderr: chalk at the level NO_COLOR, FORCE_COLOR and the terminal allow. */
import { Chalk, type ChalkInstance, type ColorSupportLevel } from 'chalk';

export interface ColorEnv {
  /** Whether stderr (not stdout: that is the NDJSON pipe) is a terminal. */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * The colour level for stderr, decided from our own inputs rather than chalk's default
 * detection, which looks at stdout.
 *
 * 1. NO_COLOR set and non-empty → 0 (https://no-color.org).
 * 2. FORCE_COLOR: `0`/`false` → 0; `1`/`2`/`3` → that level; `true` or empty → 1.
 *    Other values are ignored.
 * 3. Not a TTY, or TERM=dumb → 0.
 * 4. COLORTERM=truecolor/24bit → 3; TERM containing `256` → 2; else 1.
 */
export function resolveColorLevel({ isTTY, env }: ColorEnv): ColorSupportLevel {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;

  const forced = parseForceColor(env.FORCE_COLOR);
  if (forced !== undefined) return forced;

  if (!isTTY || env.TERM === 'dumb') return 0;
  const colorterm = env.COLORTERM?.toLowerCase();
  if (colorterm === 'truecolor' || colorterm === '24bit') return 3;
  if (env.TERM?.includes('256')) return 2;
  return 1;
}

export function createStderrChalk(opts: ColorEnv): ChalkInstance {
  return new Chalk({ level: resolveColorLevel(opts) });
}

function parseForceColor(value: string | undefined): ColorSupportLevel | undefined {
  switch (value?.trim().toLowerCase()) {
    case undefined:
      return undefined;
    case '0':
    case 'false':
      return 0;
    case '':
    case 'true':
    case '1':
      return 1;
    case '2':
      return 2;
    case '3':
      return 3;
    default:
      return undefined;
  }
}
