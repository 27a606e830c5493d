/**
 * The servers `npm run simulate` runs against: the modes of fixtures/limiters/ (every limiter
 * shape of issue #23, by name, `+faultsNN` suffixes included), and what the simulator adds to
 * each: the client flags a run against it takes, and the target it is held to.
 */
import type { RunOptions } from '../../src/options.js';
import { getMode, type Mode, MODE_NAMES, type ModeSettings } from '../../fixtures/limiters/index.js';

/** The modes of the table: every named mode of the registry, in its order. */
export const TABLE_MODES: readonly string[] = MODE_NAMES;

/**
 * The targets (#23, "Measured"), by the kind of server. A mode with faults is held to
 * the faults target, a changing limit to the change target, the slow API to its own; any other
 * to the target of the hints it gives.
 */
export type TargetKind = 'quota' | 'retry-after' | 'no-hints' | 'faults' | 'change' | 'slow';

/** A moment the limit changes: this long after the first request, to this rate. */
export interface LimitChange {
  afterMs: number;
  rps: number;
}

export interface SimMode {
  name: string;
  mode: Mode;
  /** The mode's settings with no options: its limit, its own latency, its hints and faults. */
  settings: ModeSettings;
  /** The limit, requests per second (before any change). */
  limitRps: number;
  /** Client options every run against it adds, and the same as flags. */
  options: Partial<RunOptions>;
  flags: string;
  target: TargetKind;
  changes: LimitChange[];
}

/** The mode called `name` (any name the registry takes), as the simulator runs it. */
export function simMode(name: string): SimMode {
  const mode = getMode(name);
  const settings = mode.settings();
  const base = name.replace(/\+faults\d+$/, '');
  const hasFaults = (settings.faults?.rate ?? 0) > 0;
  // --timeout 2 as in the issue: a 'slow' fault (3 s) then times out, as a hang would.
  const options: Partial<RunOptions> = { ...(hasFaults ? { timeoutMs: 2_000 } : {}), ...(base === 'slow' ? { concurrency: 10 } : {}) };
  const flags = [hasFaults ? '--timeout 2' : '', base === 'slow' ? '-c 10' : ''].filter(Boolean).join(' ');
  return { name, mode, settings, limitRps: settings.rps, options, flags, target: targetOf(base, settings, hasFaults), changes: changesOf(base, settings) };
}

function targetOf(base: string, settings: ModeSettings, hasFaults: boolean): TargetKind {
  if (hasFaults) return 'faults';
  if (base === 'halving' || base === 'doubling') return 'change';
  if (base === 'slow') return 'slow';
  if ((settings.headers ?? 'none') !== 'none') return 'quota';
  return (settings.retryAfter ?? 'seconds') === 'none' ? 'no-hints' : 'retry-after';
}

/** As fixtures/limiters/index.ts changes them: halved (rounded down) after changeAfterMs; `doubling` back as long after. */
function changesOf(base: string, settings: ModeSettings): LimitChange[] {
  const half = Math.max(1, Math.floor(settings.rps / 2));
  if (base === 'halving') return [{ afterMs: settings.changeAfterMs, rps: half }];
  if (base === 'doubling') {
    return [
      { afterMs: settings.changeAfterMs, rps: half },
      { afterMs: 2 * settings.changeAfterMs, rps: settings.rps },
    ];
  }
  return [];
}
