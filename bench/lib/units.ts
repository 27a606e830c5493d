/** Small parsers and formatters shared by the scenarios and the report. */

/** Delta-seconds Retry-After (the only form the benchmark's fixture servers send). */
export function parseRetryAfterSeconds(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** `15.2` */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** `1.03`, or `>4.00` when the run was stopped before the end. */
export function ratio(value: number, isLowerBound = false): string {
  return `${isLowerBound ? '>' : ''}${value.toFixed(2)}`;
}

/** `123.4 MiB` from KiB. */
export function mebibytes(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

/** `1,234,567`. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** The middle value, or the mean of the two middle ones. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
