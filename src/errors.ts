/** A mistake in how ratefetch was called: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The output could not be written (disk full, bad path): exit 74. */
export class OutputError extends Error {
  override name = 'OutputError';
}
