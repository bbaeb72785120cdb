import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';

it("puts the tests' temporary files in their run's own folder, which test/global-setup.ts removes at the end", () => {
  const folder = tmpdir();
  expect(path.basename(folder)).toMatch(/^unsub-recon-test-\d+-/);
  expect(existsSync(folder)).toBe(true);
});
