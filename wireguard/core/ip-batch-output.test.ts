import { describe, expect, it } from 'vitest';
import { splitBatchStderr, unsafeBatchLine } from './ip-batch-output.js';

describe('splitBatchStderr', () => {
  it('gives each failed line the text ip printed before its marker (iproute2 6.1 output)', () => {
    const text =
      'RTNETLINK answers: No such process\nCommand failed -:4\n' +
      'Cannot find device "nonexist"\nCommand failed -:5\n' +
      'Object "alp-batch-end" is unknown, try "ip help".\nCommand failed -:7\n';
    expect(splitBatchStderr(text)).toEqual({
      failures: [
        { lineNo: 4, message: 'RTNETLINK answers: No such process' },
        { lineNo: 5, message: 'Cannot find device "nonexist"' },
        { lineNo: 7, message: 'Object "alp-batch-end" is unknown, try "ip help".' },
      ],
      rest: '',
    });
  });

  it('keeps text that no marker has ended yet, including a half-received marker', () => {
    const first = splitBatchStderr('RTNETLINK answers: File exists\nCommand fa');
    expect(first).toEqual({ failures: [], rest: 'RTNETLINK answers: File exists\nCommand fa' });
    expect(splitBatchStderr(`${first.rest}iled -:9\n`)).toEqual({
      failures: [{ lineNo: 9, message: 'RTNETLINK answers: File exists' }],
      rest: '',
    });
  });

  it('never throws on arbitrary text and finds no failure without a marker', () => {
    for (const text of [
      '',
      '\n\n',
      'Command failed',
      'Command failed -:',
      'Command failed -:x\n',
      '\u0000\uffff',
    ]) {
      expect(splitBatchStderr(text).failures).toEqual([]);
    }
  });
});

describe('unsafeBatchLine', () => {
  it('accepts the lines we render', () => {
    expect(
      unsafeBatchLine('route replace 198.51.100.0/26 dev wireguard.cali table 1 proto 3 scope link'),
    ).toBeNull();
  });

  it('refuses what would shift ip’s line numbers or hide part of a command', () => {
    for (const line of [
      '',
      '  ',
      'route del a\nroute del b',
      'route del a # b',
      'route del a \\',
      'link set dev "x" up',
    ]) {
      expect(unsafeBatchLine(line)).not.toBeNull();
    }
  });
});
