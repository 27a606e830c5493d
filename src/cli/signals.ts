/** SIGINT and SIGTERM, as the CLI hears them: the first drains the run, a second leaves at once. */
import { EXIT } from './cli-io.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The exit code a run stopped by this signal ends with (128 + its number, as shells report). */
export function exitCodeFor(signal: StopSignal): number {
  return signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm;
}

/** Calls `onSignal` for each SIGINT or SIGTERM until the returned function is called. */
export function listenForStop(signals: NodeJS.EventEmitter | undefined, onSignal: (signal: StopSignal) => void): () => void {
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  signals?.on('SIGINT', onInt);
  signals?.on('SIGTERM', onTerm);
  return () => {
    signals?.off('SIGINT', onInt);
    signals?.off('SIGTERM', onTerm);
  };
}
