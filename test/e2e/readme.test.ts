// Keeps the README true (STYLE.md "Habits"): every `unsub-recon …` command in its code blocks
// parses with the real CLI; the commands of the first-hour, nightly, scheduling and scaling-out
// sections run against the sandbox with the exit code the README gives; the provider example is a
// valid config whose capability table matches the provider modules; every error code the sources
// define is in the troubleshooting table, and every command is in the commands table.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../extractors/core/config.js';
import { PROVIDER_IDS, PROVIDERS } from '../../extractors/registry.js';
import { parseCommandLine } from '../../pipelines/cli.js';
import { type Sandbox, startSandbox } from '../../pipelines/sandbox.js';
import { REPO_ROOT, runCli } from '../helpers/cli.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

interface Block {
  section: string;
  lang: string;
  text: string;
}

/** Fenced code blocks with the `##` section they sit in. */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let open: Block | null = null;
  for (const line of markdown.split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push(open);
        open = null;
      } else open.text += `${line}\n`;
    } else if (line.startsWith('```')) open = { section, lang: line.slice(3).trim(), text: '' };
    else if (line.startsWith('## ')) section = line.slice(3).trim();
  }
  return blocks;
}

/**
 * Shell words of `text`, commands split at newlines and operators (`|`, `>`, `;`, `&&`, …);
 * quotes may span lines, `\`-newline continues, `#` at a word's start comments to the line end.
 */
function shellCommands(text: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word: string | null = null;
  let skipRest = false; // after an operator, the rest of the command is not ours
  const endWord = () => {
    if (word !== null && !skipRest) words.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
    skipRest = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word = (word ?? '') + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let value = '';
      for (i++; text[i] !== '"'; i++) value += text[i] === '\\' ? text[++i] : text[i];
      word = (word ?? '') + value;
    } else if (c === '\\' && text[i + 1] === '\n') i++;
    else if (c === '\\') word = (word ?? '') + text[++i];
    else if (c === '#' && word === null) i = text.indexOf('\n', i) - 1;
    else if (c === '\n') endCommand();
    else if (c === ';' || (c === '&' && text[i + 1] === '&')) {
      endCommand();
      if (c === '&') i++;
    } else if (c === '|' || c === '>' || c === '<') {
      endWord();
      skipRest = true;
    } else if (c === ' ' || c === '\t') endWord();
    else word = (word ?? '') + c;
  }
  endCommand();
  return commands;
}

/** Every unsub-recon invocation in the README's code blocks: its words after the program name. */
function readmeCommands(): Array<{ section: string; args: string[]; line: string }> {
  const found: Array<{ section: string; args: string[]; line: string }> = [];
  for (const block of codeBlocks(README)) {
    for (const words of shellCommands(block.text)) {
      // `unsub-recon …`, or `node bin/unsub-recon.js …` (also after `- run:` or `ExecStart=`)
      const at =
        words[0] === 'unsub-recon'
          ? 0
          : words.findIndex((w, i) => w === 'bin/unsub-recon.js' && /(^|[=/])node$/.test(words[i - 1] ?? ''));
      if (at < 0) continue;
      found.push({ section: block.section, args: words.slice(at + 1), line: words.slice(at).join(' ') });
    }
  }
  return found;
}

describe('README commands', () => {
  const commands = readmeCommands();

  it('finds the commands of every section that shows some', () => {
    const sections = new Set(commands.map((c) => c.section));
    for (const section of [
      'Commands',
      'The nightly job',
      'Scheduling',
      'Scaling out: Parquet for Spark and Trino',
    ]) {
      expect(sections).toContain(section);
    }
    // the cron line, the systemd unit and the CI step each call the CLI
    expect(commands.filter((c) => c.section === 'Scheduling')).toHaveLength(3);
    // a quoted SQL query spanning lines is one argument
    expect(commands.some((c) => c.args[0] === 'sql' && c.args[1]!.includes('\n'))).toBe(true);
  });

  it.each(readmeCommands().map((c) => [c.line, c.args] as const))('parses: %s', async (_line, args) => {
    await expect(parseCommandLine(args)).resolves.not.toEqual([]);
  });

  it('every command of the CLI is in the commands table', async () => {
    const help = await runCli(['--help']);
    const names = [...help.stdout.matchAll(/^ {2}(\w[\w-]*)(?: \[options\]| \[command\]| <[^>]+>)*\s{2,}/gm)]
      .map((m) => m[1]!)
      .filter((n) => n !== 'help');
    expect(names.length).toBeGreaterThan(10);
    const table = README.slice(
      README.indexOf('## Commands\n'),
      README.indexOf('\n## ', README.indexOf('## Commands\n') + 5),
    );
    for (const name of names) expect([name, table.includes(`| \`unsub-recon ${name}`)]).toEqual([name, true]);
  });
});

describe('README commands run against the sandbox', () => {
  // Paths an operator would use, mapped onto the sandbox.
  let sandbox: Sandbox;
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'unsub-readme-'));
    sandbox = await startSandbox({ rows: 150, seed: 9, dir: work });
    copyFileSync(sandbox.configFile, path.join(work, 'unsub-recon.config.json'));
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const SECTIONS = ['The nightly job', 'Scheduling', 'Scaling out: Parquet for Spark and Trino'];
  const substitute = (arg: string) =>
    arg
      .replace(/^\/(etc|srv)\/unsub-recon\/unsub-recon\.config\.json$/, () => sandbox.configFile)
      .replace(/^\/shared\/unsub-recon$/, () => path.join(work, 'export'));

  it('runs, in order, with the exit code the README gives (3 only with --fail-on-discrepancy)', async () => {
    const runnable = readmeCommands().filter((c) => SECTIONS.includes(c.section));
    expect(runnable.length).toBeGreaterThanOrEqual(10);
    const codes: number[] = [];
    for (const command of runnable) {
      const result = await runCli(command.args.map(substitute), {
        cwd: work,
        env: sandbox.env,
        timeoutMs: 120_000,
      });
      // 3 when discrepancies remain: before `nightly --apply-adds` has fixed them, not after.
      const expected = command.args.includes('--fail-on-discrepancy')
        ? JSON.parse(result.stdout).discrepancies_remaining > 0
          ? 3
          : 0
        : 0;
      codes.push(result.code ?? -1);
      expect({ line: command.line, code: result.code }, result.stderr).toEqual({
        line: command.line,
        code: expected,
      });
    }
    expect(codes).toContain(3);
    // the nightly runs wrote their folders; `runs --keep 30` kept them all
    const runs = readdirSync(path.join(work, 'runs')).filter((d) =>
      statSync(path.join(work, 'runs', d)).isDirectory(),
    );
    expect(runs.length).toBe(runnable.filter((c) => c.args.includes('nightly')).length);
  });
});

describe('README: configure your accounts', () => {
  const section = README.slice(README.indexOf('### One account of each provider'));
  const json = codeBlocks(section).find((b) => b.lang === 'json')!.text;

  it('the example with one account of every provider is a valid config', () => {
    const env = Object.fromEntries(
      [...json.matchAll(/"env:([A-Z0-9_]+)"/g)].map((m) => [m[1]!, `${m[1]!.toLowerCase()}-value`]),
    );
    env.UNSUB_RECON_WEBHOOK = 'https://hooks.example.com/T0/B0/token123';
    const config = parseConfig(json, '/srv/unsub-recon/unsub-recon.config.json', { env });
    expect(config.accounts.map((a) => a.provider).sort()).toEqual([...PROVIDER_IDS].sort());
    expect(config.groups.map((g) => g.policy)).toEqual(['union', 'mirror']);
  });

  it('the capability table says what each provider module declares', () => {
    const rows = new Map(
      [...section.matchAll(/^\| `([a-z0-9-]+)` \| `(second|date|none)`[^|]*\| (\d+) \| (yes|no)\b/gm)].map(
        (m) => [m[1]!, { timePrecision: m[2], writeBatchSize: Number(m[3]), canDelete: m[4] === 'yes' }],
      ),
    );
    expect([...rows.keys()].sort()).toEqual([...PROVIDER_IDS].sort());
    for (const id of PROVIDER_IDS) {
      const { timePrecision, writeBatchSize, canDelete } = PROVIDERS[id].capabilities;
      expect([id, rows.get(id)]).toEqual([id, { timePrecision, writeBatchSize, canDelete }]);
    }
  });
});

describe('README: troubleshooting', () => {
  /** Every error code the sources can report. */
  function sourceCodes(): Set<string> {
    const codes = new Set<string>(['INTERNAL']);
    const files = ['pipelines', 'extractors', 'transforms', 'reports'].flatMap((dir) =>
      sourceFiles(path.join(REPO_ROOT, dir)),
    );
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/readonly code(?:: ([^;=]+))?(?: = '([A-Z_]+)')?;/g)) {
        if (m[2]) codes.add(m[2]);
        for (const literal of (m[1] ?? '').matchAll(/'([A-Z][A-Z_]+)'/g)) codes.add(literal[1]!);
      }
      // HttpRequestError's codes, and ProviderError's `PROVIDER_<FAMILY>`
      for (const m of text.matchAll(/code: ('HTTP_[A-Z_]+'(?: \| 'HTTP_[A-Z_]+')*)/g)) {
        for (const literal of m[1]!.matchAll(/'([A-Z_]+)'/g)) codes.add(literal[1]!);
      }
      for (const m of text.matchAll(/family: ('[a-z]+'(?: \| '[a-z]+')+)/g)) {
        for (const literal of m[1]!.matchAll(/'([a-z]+)'/g))
          codes.add(`PROVIDER_${literal[1]!.toUpperCase()}`);
      }
    }
    return codes;
  }

  function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory()
        ? e.name === 'fixtures'
          ? []
          : sourceFiles(path.join(dir, e.name))
        : e.name.endsWith('.ts') && !e.name.includes('simulator') && !e.name.startsWith('sim-')
          ? [path.join(dir, e.name)]
          : [],
    );
  }

  it('lists every error code the sources define, each once, with its exit code', () => {
    const codes = sourceCodes();
    for (const known of [
      'CONFIG_INVALID',
      'HTTP_STATUS',
      'PROVIDER_FATAL',
      'PAGING_LOOP',
      'NIGHTLY_NOT_CLEAN',
    ]) {
      expect(codes).toContain(known); // the scan above works
    }
    const table = README.slice(README.indexOf('## Troubleshooting by error code'));
    const listed = [...table.matchAll(/^\| (`[A-Z_]+`(?: \/ `[A-Z_]+`)*) \| (\d) \|/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/`([A-Z_]+)`/g)].map((c) => c[1]!),
    );
    for (const code of codes) expect([code, listed.filter((l) => l === code).length]).toEqual([code, 1]);
  });
});
