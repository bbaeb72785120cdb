import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { locateSource } from '../../../../extractors/core/source-files.js';

/** A checkout with `a/q.sql` in the source tree and the compiled module `dist/a/m.js`. */
function checkout() {
  const root = mkdtempSync(path.join(tmpdir(), 'source-files-'));
  mkdirSync(path.join(root, 'a', 'sub'), { recursive: true });
  mkdirSync(path.join(root, 'dist', 'a'), { recursive: true });
  writeFileSync(path.join(root, 'a', 'q.sql'), 'SELECT 1;');
  writeFileSync(path.join(root, 'a', 'm.ts'), '');
  writeFileSync(path.join(root, 'dist', 'a', 'm.js'), '');
  return root;
}

describe('locateSource', () => {
  it('a compiled module finds the file at the same place in the source tree', () => {
    const root = checkout();
    const compiled = pathToFileURL(path.join(root, 'dist', 'a', 'm.js')).href;
    expect(locateSource(compiled, './q.sql')).toEqual({
      found: path.join(root, 'a', 'q.sql'),
      candidates: [path.join(root, 'dist', 'a', 'q.sql'), path.join(root, 'a', 'q.sql')],
    });
    expect(locateSource(compiled, './sub/').found).toBe(`${path.join(root, 'a', 'sub')}${path.sep}`);
  });

  it('a module run from source finds the file beside itself, and only looks there', () => {
    const root = checkout();
    const source = pathToFileURL(path.join(root, 'a', 'm.ts')).href;
    expect(locateSource(source, './q.sql')).toEqual({
      found: path.join(root, 'a', 'q.sql'),
      candidates: [path.join(root, 'a', 'q.sql')],
    });
  });

  it('names every place it looked when the file is nowhere', () => {
    const root = checkout();
    const compiled = pathToFileURL(path.join(root, 'dist', 'a', 'm.js')).href;
    expect(locateSource(compiled, './missing.sql')).toEqual({
      found: undefined,
      candidates: [path.join(root, 'dist', 'a', 'missing.sql'), path.join(root, 'a', 'missing.sql')],
    });
  });
});
