import { describe, expect, it } from 'vitest';
import { formatDuration, streamOutput, table } from '../../cli/output.js';

class Stream {
  text = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {}

  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

describe('streamOutput', () => {
  it('updates one progress line in place on a terminal', () => {
    const stdout = new Stream(true);
    const stderr = new Stream(true);
    const output = streamOutput(stdout, stderr);

    output.progress('Waiting (5s)');
    output.progress('Waiting (10s)');
    output.endProgress();

    expect(stderr.text).toBe('\r\x1b[2KWaiting (5s)\r\x1b[2KWaiting (10s)\n');
    expect(stdout.text).toBe('');
  });

  it('clears the progress line before printing anything else', () => {
    const stdout = new Stream(true);
    const stderr = new Stream(true);
    const output = streamOutput(stdout, stderr);

    output.progress('Waiting (5s)');
    output.line('api (prod): stable');

    expect(stderr.text).toBe('\r\x1b[2KWaiting (5s)\r\x1b[2K');
    expect(stdout.text).toBe('api (prod): stable\n');
  });

  it('fits the progress line to the terminal width', () => {
    const stderr = new Stream(true, 30);
    streamOutput(new Stream(true), stderr).progress('x'.repeat(100));

    expect(stderr.text).toBe(`\r\x1b[2K${'x'.repeat(28)}…`);
  });

  it('prints every progress update as a plain line when not on a terminal', () => {
    const stderr = new Stream(false);
    const output = streamOutput(new Stream(false), stderr);

    output.progress('Waiting (5s)');
    output.progress('Waiting (10s)');
    output.endProgress();

    expect(stderr.text).toBe('Waiting (5s)\nWaiting (10s)\n');
  });
});

describe('table', () => {
  it('aligns columns and never pads the last one', () => {
    expect(
      table(
        ['SERVICE', 'CLUSTER', 'WHAT WOULD HAPPEN'],
        [
          ['api', 'production', 'redeploy'],
          ['a-long-service-name', 'prod', 'skip: service is DRAINING'],
        ],
      ),
    ).toEqual([
      'SERVICE              CLUSTER     WHAT WOULD HAPPEN',
      'api                  production  redeploy',
      'a-long-service-name  prod        skip: service is DRAINING',
    ]);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [7_400, '7s'],
    [125_000, '2m05s'],
    [3_723_000, '1h02m03s'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
