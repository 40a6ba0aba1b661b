/**
 * Where commands write: results on stdout, warnings and progress on stderr. Commands take an
 * `Output` so tests capture what they print.
 */

export interface Output {
  /** A line of the result (stdout). */
  line(text?: string): void;
  /** A warning or error (stderr). */
  warn(text: string): void;
  /**
   * A progress update (stderr): on a terminal it replaces the previous update in place; otherwise
   * it is printed as a plain line, so logs keep every update.
   */
  progress(text: string): void;
  /** Ends the current progress line (the last update stays visible). */
  endProgress(): void;
}

interface Stream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** An Output over two streams (process.stdout and process.stderr). */
export function streamOutput(stdout: Stream, stderr: Stream): Output {
  const tty = stderr.isTTY === true;
  let progressShown = false;
  const clearProgress = (): void => {
    if (progressShown) {
      stderr.write('\r\x1b[2K');
      progressShown = false;
    }
  };
  return {
    line(text = '') {
      clearProgress();
      stdout.write(`${text}\n`);
    },
    warn(text) {
      clearProgress();
      stderr.write(`${text}\n`);
    },
    progress(text) {
      if (!tty) {
        stderr.write(`${text}\n`);
        return;
      }
      const width = Math.max((stderr.columns ?? 80) - 1, 20);
      const fitted = text.length > width ? `${text.slice(0, width - 1)}…` : text;
      stderr.write(`\r\x1b[2K${fitted}`);
      progressShown = true;
    },
    endProgress() {
      if (progressShown) {
        stderr.write('\n');
        progressShown = false;
      }
    },
  };
}

/** Rows as aligned columns, header first. The last column is never padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (cells: readonly string[]): string =>
    headers
      .map((_, column) => {
        const cell = cells[column] ?? '';
        return column === headers.length - 1 ? cell : cell.padEnd(widths[column] ?? 0);
      })
      .join('  ')
      .trimEnd();
  return [format(headers), ...rows.map(format)];
}

/** `1h02m03s`, `2m05s`, `7s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (hours > 0) return `${hours}h${pad(minutes)}m${pad(seconds)}s`;
  if (minutes > 0) return `${minutes}m${pad(seconds)}s`;
  return `${seconds}s`;
}

const pad = (value: number): string => String(value).padStart(2, '0');

/** `1 service`, `3 services`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** The short name of a service or cluster ARN: the last path segment. */
export function shortName(arn: string): string {
  return arn.split('/').pop() ?? arn;
}
