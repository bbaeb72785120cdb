import { describe, expect, it } from 'vitest';
import { PagingError } from '../../../../extractors/core/errors.js';
import {
  CursorPaginator,
  DEFAULT_PAGE_CAP,
  type FetchedPage,
  fingerprint,
  OffsetPaginator,
  type OffsetRequest,
  PageNumberPaginator,
  type PageNumberRequest,
  type PageResult,
  type Paginator,
  type PagingSummary,
  paginate,
  SingleShotPaginator,
} from '../../../../extractors/core/paginate.js';

const ROWS = (n: number) => Array.from({ length: n }, (_, i) => `user${i}@example.com`);

/** A page the way a provider sends it: a body whose bytes the fingerprint is taken from. */
function page(
  rows: string[],
  extra: { cursor?: string | null; total?: number | null } = {},
): FetchedPage<string[]> {
  return {
    page: rows,
    info: { rows: rows.length, fingerprint: fingerprint(JSON.stringify(rows)), ...extra },
  };
}

async function run<Req>(
  paginator: Paginator<Req>,
  fetchPage: (req: Req, pageNo: number) => FetchedPage<string[]> | Promise<FetchedPage<string[]>>,
  pageCap?: number,
): Promise<{ results: PageResult<Req, string[]>[]; summary: PagingSummary; rows: string[] }> {
  const gen = paginate({ paginator, fetchPage: async (req, n) => fetchPage(req, n), pageCap });
  const results: PageResult<Req, string[]>[] = [];
  for (;;) {
    const step = await gen.next();
    if (step.done) return { results, summary: step.value, rows: results.flatMap((r) => r.page) };
    results.push(step.value);
  }
}

/** Collects what was yielded before paging threw, and the error. */
async function runUntilError<Req>(
  paginator: Paginator<Req>,
  fetchPage: (req: Req, pageNo: number) => FetchedPage<string[]>,
  pageCap?: number,
): Promise<{ pageNos: number[]; error: unknown }> {
  const pageNos: number[] = [];
  try {
    for await (const r of paginate({ paginator, fetchPage: async (req, n) => fetchPage(req, n), pageCap })) {
      pageNos.push(r.pageNo);
    }
  } catch (error) {
    return { pageNos, error };
  }
  throw new Error('expected paging to throw');
}

/** An offset API over `data`; `maxLimit` models a provider that silently caps `limit`. */
function offsetApi(data: string[], opts: { maxLimit?: number; total?: number | null } = {}) {
  const calls: OffsetRequest[] = [];
  const fetch = (req: OffsetRequest) => {
    calls.push(req);
    const limit = Math.min(req.limit, opts.maxLimit ?? req.limit);
    return page(data.slice(req.offset, req.offset + limit), {
      total: opts.total === undefined ? data.length : opts.total,
    });
  };
  return { calls, fetch };
}

function pageNumberApi(data: string[], firstPage: number, totalPages?: number) {
  const calls: PageNumberRequest[] = [];
  const fetch = (req: PageNumberRequest) => {
    calls.push(req);
    const start = (req.page - firstPage) * req.pageSize;
    return page(data.slice(start, start + req.pageSize), { total: totalPages ?? data.length });
  };
  return { calls, fetch };
}

describe('OffsetPaginator', () => {
  it.each([
    ['short-page, partial last page', 'short-page', 250, [0, 100, 200]],
    ['short-page, exact multiple needs one empty page', 'short-page', 200, [0, 100, 200]],
    ['short-page, no data', 'short-page', 0, [0]],
    ['empty-page always asks for one more', 'empty-page', 250, [0, 100, 200, 250]],
    ['total stops without an extra request', 'total', 200, [0, 100]],
    ['total, partial last page', 'total', 250, [0, 100, 200]],
    ['total, no data', 'total', 0, [0]],
  ] as const)('%s', async (_name, stopWhen, n, offsets) => {
    const api = offsetApi(ROWS(n));
    const { rows, summary } = await run(new OffsetPaginator({ pageSize: 100, stopWhen }), api.fetch);
    expect(api.calls.map((c) => c.offset)).toEqual(offsets);
    expect(api.calls.every((c) => c.limit === 100)).toBe(true);
    expect(rows).toEqual(ROWS(n));
    expect(summary).toEqual({
      pages: offsets.length,
      rows: n,
      stopRule: stopWhen === 'total' ? 'total-reached' : stopWhen,
    });
  });

  it('advances by the rows received, so a provider capping limit loses nothing under empty-page', async () => {
    const api = offsetApi(ROWS(100), { maxLimit: 30 });
    const { rows } = await run(new OffsetPaginator({ pageSize: 50, stopWhen: 'empty-page' }), api.fetch);
    expect(api.calls.map((c) => c.offset)).toEqual([0, 30, 60, 90, 100]);
    expect(rows).toEqual(ROWS(100));
  });

  it('stops on an empty page even when a stale total promises more', async () => {
    const api = offsetApi(ROWS(120), { total: 500 });
    const { rows } = await run(new OffsetPaginator({ pageSize: 50, stopWhen: 'total' }), api.fetch);
    expect(api.calls.map((c) => c.offset)).toEqual([0, 50, 100, 120]);
    expect(rows).toHaveLength(120);
  });

  it('refuses to guess when the total is missing', async () => {
    const api = offsetApi(ROWS(120), { total: null });
    await expect(run(new OffsetPaginator({ pageSize: 50, stopWhen: 'total' }), api.fetch)).rejects.toThrow(
      TypeError,
    );
  });

  it('defaults to short-page and validates its options', () => {
    expect(new OffsetPaginator({ pageSize: 10 }).stopRule).toBe('short-page');
    expect(new OffsetPaginator({ pageSize: 10, startOffset: 5 }).first()).toEqual({ offset: 5, limit: 10 });
    expect(() => new OffsetPaginator({ pageSize: 0 })).toThrow(RangeError);
    expect(() => new OffsetPaginator({ pageSize: 2.5 })).toThrow(RangeError);
    expect(() => new OffsetPaginator({ pageSize: 10, startOffset: -1 })).toThrow(RangeError);
  });
});

describe('PageNumberPaginator', () => {
  it.each([
    ['short-page from 1', 1, 'short-page', 25, undefined, [1, 2, 3]],
    ['short-page from 0', 0, 'short-page', 25, undefined, [0, 1, 2]],
    ['empty-page', 1, 'empty-page', 20, undefined, [1, 2, 3]],
    ['total rows', 1, 'total', 20, undefined, [1, 2]],
    ['total pages', 1, 'total-pages', 20, 2, [1, 2]],
    ['total pages from 0', 0, 'total-pages', 25, 3, [0, 1, 2]],
  ] as const)('%s', async (_name, firstPage, stopWhen, n, totalPages, pages) => {
    const api = pageNumberApi(ROWS(n), firstPage, totalPages);
    const { rows } = await run(new PageNumberPaginator({ pageSize: 10, firstPage, stopWhen }), api.fetch);
    expect(api.calls.map((c) => c.page)).toEqual(pages);
    expect(rows).toEqual(ROWS(n));
  });

  it('counts rows per window: first() resets the total-rows tally', async () => {
    const paginator = new PageNumberPaginator({ pageSize: 10, stopWhen: 'total' });
    for (const n of [15, 15]) {
      const api = pageNumberApi(ROWS(n), 1);
      await run(paginator, api.fetch);
      expect(api.calls.map((c) => c.page)).toEqual([1, 2]);
    }
  });

  it('declares its stop rule', () => {
    expect(new PageNumberPaginator({ pageSize: 5 }).stopRule).toBe('short-page');
    expect(new PageNumberPaginator({ pageSize: 5, stopWhen: 'total-pages' }).stopRule).toBe(
      'last-page-reached',
    );
    expect(new PageNumberPaginator({ pageSize: 5 }).first()).toEqual({ page: 1, pageSize: 5 });
  });
});

describe('CursorPaginator', () => {
  /** Pages linked by cursor tokens: `chain[i]` is served for the cursor `links[i - 1]`. */
  function cursorApi(
    chain: Array<{ rows: string[]; next: string | null | undefined }>,
    links: Array<string | null>,
  ) {
    const asked: Array<string | null> = [];
    const fetch = (req: { cursor: string | null }) => {
      asked.push(req.cursor);
      const i = req.cursor === null ? 0 : links.indexOf(req.cursor) + 1;
      const p = chain[i]!;
      return page(p.rows, { cursor: p.next });
    };
    return { asked, fetch };
  }

  it.each([
    ['null', null],
    ['absent', undefined],
    ['empty string', ''],
  ])('follows cursors and stops when the next cursor is %s', async (_name, last) => {
    const api = cursorApi(
      [
        { rows: ['a', 'b'], next: 'c1' },
        { rows: ['c'], next: 'c2' },
        { rows: ['d'], next: last },
      ],
      ['c1', 'c2'],
    );
    const p = new CursorPaginator();
    const { rows, summary } = await run(p, api.fetch);
    expect(api.asked).toEqual([null, 'c1', 'c2']);
    expect(rows).toEqual(['a', 'b', 'c', 'd']);
    expect(summary.stopRule).toBe('no-next-cursor');
  });

  it('throws PAGING_LOOP when a cursor token comes back', async () => {
    const api = cursorApi(
      [
        { rows: ['a'], next: 'c1' },
        { rows: ['b'], next: 'c2' },
        { rows: ['c'], next: 'c1' },
      ],
      ['c1', 'c2'],
    );
    const { pageNos, error } = await runUntilError(new CursorPaginator(), api.fetch);
    expect(error).toBeInstanceOf(PagingError);
    expect((error as PagingError).code).toBe('PAGING_LOOP');
    expect((error as PagingError).message).toMatch(/"c1" returned by page 3 was already returned by page 1/);
    expect(pageNos).toEqual([1, 2, 3]);
    expect(api.asked).toEqual([null, 'c1', 'c2']);
  });

  it('forgets cursors between windows (first() resets)', async () => {
    const p = new CursorPaginator();
    for (let i = 0; i < 2; i++) {
      const api = cursorApi(
        [
          { rows: ['a'], next: 'c1' },
          { rows: ['b'], next: null },
        ],
        ['c1'],
      );
      expect((await run(p, api.fetch)).rows).toEqual(['a', 'b']);
    }
  });

  it('keeps following cursors through empty pages unless told to stop on them', async () => {
    const chain = [
      { rows: ['a'], next: 'c1' },
      { rows: [], next: 'c2' },
      { rows: [], next: 'c3' },
      { rows: ['b'], next: null },
    ];
    const follow = await run(new CursorPaginator(), cursorApi(chain, ['c1', 'c2', 'c3']).fetch);
    expect(follow.rows).toEqual(['a', 'b']);
    const stop = await run(
      new CursorPaginator({ stopOnEmptyPage: true }),
      cursorApi(chain, ['c1', 'c2', 'c3']).fetch,
    );
    expect(stop.rows).toEqual(['a']);
    expect(stop.summary).toEqual({ pages: 2, rows: 1, stopRule: 'no-next-cursor-or-empty-page' });
  });
});

describe('SingleShotPaginator', () => {
  it('makes exactly one request whatever the page holds', async () => {
    let calls = 0;
    const { summary } = await run(new SingleShotPaginator(), () => {
      calls += 1;
      return page(ROWS(1000), { cursor: 'more', total: 5000 });
    });
    expect(calls).toBe(1);
    expect(summary).toEqual({ pages: 1, rows: 1000, stopRule: 'single-shot' });
  });
});

describe('paginate loop guard', () => {
  it('throws PAGING_LOOP before yielding a page identical to the previous one', async () => {
    // A provider that ignores `offset` keeps sending the first page.
    const data = ROWS(10);
    const { pageNos, error } = await runUntilError(new OffsetPaginator({ pageSize: 3 }), () =>
      page(data.slice(0, 3)),
    );
    expect(error).toBeInstanceOf(PagingError);
    expect((error as PagingError).code).toBe('PAGING_LOOP');
    expect((error as PagingError).message).toMatch(/page 2 is identical to page 1/);
    expect(pageNos).toEqual([1]);
  });

  it('catches a provider that wraps around (A, B, A)', async () => {
    const data = ROWS(6);
    const { pageNos, error } = await runUntilError(new OffsetPaginator({ pageSize: 3 }), (req) => {
      const start = req.offset % data.length;
      return page(data.slice(start, start + 3));
    });
    expect((error as PagingError).code).toBe('PAGING_LOOP');
    expect((error as PagingError).message).toMatch(/page 3 is identical to page 1/);
    expect(pageNos).toEqual([1, 2]);
  });

  it('does not trip on a row repeated across two pages (the list moved while paging)', async () => {
    const pages = [['a', 'b', 'c'], ['c', 'd', 'e'], ['e', 'f', 'g'], ['g']];
    const { rows, summary } = await run(new PageNumberPaginator({ pageSize: 3 }), (req) =>
      page(pages[req.page - 1]!),
    );
    expect(rows).toEqual(['a', 'b', 'c', 'c', 'd', 'e', 'e', 'f', 'g', 'g']);
    expect(summary.pages).toBe(4);
  });

  it('does not compare empty pages', async () => {
    const { summary } = await run(new PageNumberPaginator({ pageSize: 2, stopWhen: 'total-pages' }), (req) =>
      page(req.page === 4 ? ['x'] : [], { total: 4 }),
    );
    expect(summary).toEqual({ pages: 1, rows: 0, stopRule: 'last-page-reached' });
    const cursor = await run(new CursorPaginator(), (req) =>
      req.cursor === null
        ? page([], { cursor: 'k1' })
        : req.cursor === 'k1'
          ? page([], { cursor: 'k2' })
          : page(['x']),
    );
    expect(cursor.summary.pages).toBe(3);
  });
});

describe('paginate page cap', () => {
  it('throws PAGING_CAP when the paginator wants a page beyond the cap', async () => {
    const api = offsetApi(ROWS(100));
    const { pageNos, error } = await runUntilError(new OffsetPaginator({ pageSize: 10 }), api.fetch, 3);
    expect(error).toBeInstanceOf(PagingError);
    expect((error as PagingError).code).toBe('PAGING_CAP');
    expect((error as PagingError).message).toMatch(/page cap of 3 .*page 4/);
    expect(pageNos).toEqual([1, 2, 3]);
    expect(api.calls).toHaveLength(3);
  });

  it('allows exactly pageCap pages when the stop rule ends there', async () => {
    const api = offsetApi(ROWS(25));
    const { summary } = await run(new OffsetPaginator({ pageSize: 10 }), api.fetch, 3);
    expect(summary).toEqual({ pages: 3, rows: 25, stopRule: 'short-page' });
  });

  it('defaults to 100 000 pages and rejects a cap that is not a positive integer', async () => {
    expect(DEFAULT_PAGE_CAP).toBe(100_000);
    await expect(run(new SingleShotPaginator(), () => page([]), 0)).rejects.toThrow(RangeError);
  });

  it('passes the page number and request to fetchPage', async () => {
    const seen: Array<[OffsetRequest, number]> = [];
    await run(new OffsetPaginator({ pageSize: 2 }), (req, n) => {
      seen.push([req, n]);
      return page(ROWS(3).slice(req.offset, req.offset + 2));
    });
    expect(seen).toEqual([
      [{ offset: 0, limit: 2 }, 1],
      [{ offset: 2, limit: 2 }, 2],
    ]);
  });
});

describe('fingerprint', () => {
  it('hashes bytes and strings alike and tells different bodies apart', () => {
    expect(fingerprint('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(fingerprint(new TextEncoder().encode('abc'))).toBe(fingerprint('abc'));
    expect(fingerprint('abd')).not.toBe(fingerprint('abc'));
  });
});
