// Summaries of samples (milliseconds unless a figure says otherwise) and the
// stdout table.

export interface Summary {
  readonly samples: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// Nearest-rank percentile of an ascending array (p in (0, 100]).
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { samples: 0, median: Number.NaN, p99: Number.NaN, min: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const mid = Math.floor(n / 2);
  const median = n % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  return {
    samples: n,
    median: round(median),
    p99: round(percentile(sorted, 99)),
    min: round(sorted[0] ?? Number.NaN),
    max: round(sorted[n - 1] ?? Number.NaN),
    mean: round(mean),
  };
}

export { round };

export interface Row {
  readonly figure: string;
  readonly unit: string;
  readonly summary: Summary;
  readonly note?: string;
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  if (Math.abs(value) >= 100) return value.toFixed(1);
  if (Math.abs(value) >= 10) return value.toFixed(2);
  return value.toFixed(3);
}

export function table(rows: readonly Row[]): string {
  const head = ['figure', 'unit', 'n', 'median', 'p99', 'min', 'max', 'mean', 'note'];
  const body = rows.map((r) => [
    r.figure,
    r.unit,
    String(r.summary.samples),
    fmt(r.summary.median),
    fmt(r.summary.p99),
    fmt(r.summary.min),
    fmt(r.summary.max),
    fmt(r.summary.mean),
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

// A single value presented as a one-sample summary (throughput, counts).
export function single(value: number): Summary {
  return summarize([value]);
}
