import { describe, expect, it } from 'vitest';
import { Journal } from '../../../../../extractors/core/simulator/journal.js';

describe('Journal retention', () => {
  it('keeps every write and only the most recent reads, while counting every request', () => {
    const journal = new Journal(() => (s: string) => s, 10);
    const open = (seq: number, kind: 'read' | 'write') =>
      journal.open({ seq, at: seq, method: 'GET', path: '/x', params: {}, kind, faults: [] });
    for (let seq = 1; seq <= 100; seq++) open(seq, seq % 25 === 0 ? 'write' : 'read');
    expect(journal.size).toBe(100);
    expect(journal.writes().map((e) => e.seq)).toEqual([25, 50, 75, 100]);
    const reads = journal.reads().map((e) => e.seq);
    expect(reads.length).toBeGreaterThanOrEqual(10);
    expect(reads.length).toBeLessThan(20);
    expect(reads.at(-1)).toBe(99);
    expect(reads[0]).toBeGreaterThan(70);
    journal.clear();
    expect(journal.size).toBe(0);
  });
});
