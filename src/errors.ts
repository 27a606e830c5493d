/** A mistake in how ratefetch was called: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The output could not be written (disk full, bad path): exit 74. */
export class OutputError extends Error {
  override name = 'OutputError';
}

/** A failed file operation in words: `no space left on the device (ENOSPC)`. */
export function describeErrno(error: NodeJS.ErrnoException): string {
  const reasons: { [code: string]: string } = {
    ENOSPC: 'no space left on the device',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOENT: 'no such file or directory',
    EISDIR: 'it is a directory',
    EROFS: 'read-only file system',
    EIO: 'input/output error',
  };
  const reason = error.code ? reasons[error.code] : undefined;
  return reason ? `${reason} (${error.code})` : error.message;
}
