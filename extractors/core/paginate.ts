/**
 * One paging engine driving small paginator objects, each with a declared stop rule (the dlt
 * rest_client shape, STYLE.md). The engine adds what every provider needs and none should
 * re-implement: a loop guard (the same non-empty page twice) and a page cap.
 */
import { createHash } from 'node:crypto';
import { PagingError } from './errors.js';

/** What the engine and the paginators need to know about a fetched page. */
export interface PageInfo {
  /** Rows parsed from the page. */
  readonly rows: number;
  /** Identity of the page's content; use `fingerprint(rawBody)`. */
  readonly fingerprint: string;
  /** Token for the next page (cursor paging); absent, null or '' means "no more pages". */
  readonly cursor?: string | null;
  /** Total rows (or pages, for `stopWhen: 'total-pages'`) the provider reports, when it does. */
  readonly total?: number | null;
}

/**
 * Plans the requests for one window. Paginators may keep state, so make a fresh one per window;
 * `first()` resets it.
 */
export interface Paginator<Req> {
  /** Human-readable stop rule, recorded with the run: 'short-page', 'empty-page', … */
  readonly stopRule: string;
  first(): Req;
  /** The request after `prev`, whose page is described by `page`; null stops paging. */
  next(prev: Req, page: PageInfo): Req | null;
}

/** sha1 hex of a page's raw body: cheap, and only compared for equality, never trusted for security. */
export function fingerprint(body: Uint8Array | string): string {
  return createHash('sha1').update(body).digest('hex');
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function requireTotal(page: PageInfo, who: string): number {
  const t = page.total;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
    // The page parser promised a total by choosing this stop rule; guessing instead could skip rows.
    throw new TypeError(`${who} stops on 'total' but the page carried total=${String(t)}`);
  }
  return t;
}

export type OffsetStopRule = 'short-page' | 'empty-page' | 'total';

export interface OffsetRequest {
  readonly offset: number;
  readonly limit: number;
}

/**
 * offset/limit paging. Stop rules:
 * - `short-page`: stop after a page with fewer than `pageSize` rows (the default);
 * - `empty-page`: stop after a page with no rows (for APIs whose pages may come back short early);
 * - `total`: stop once `offset + rows >= page.total`, or on an empty page (a total that went stale
 *   while paging must not keep us asking forever).
 * The next offset advances by the rows received, not by `limit`: a provider that silently caps
 * `limit` lower than asked would otherwise make us skip rows. `advanceBy: 'limit'` is for the
 * providers whose own paging advances by `limit` even when a page holds more rows than asked
 * (SendCloud, SendGrid v3: see their extract.ts).
 * @throws RangeError when `pageSize` or `startOffset` is not an integer in range;
 *   TypeError from `next` under `total` when the page has no numeric total.
 */
export class OffsetPaginator implements Paginator<OffsetRequest> {
  readonly stopRule: string;
  private readonly pageSize: number;
  private readonly stopWhen: OffsetStopRule;
  private readonly startOffset: number;
  private readonly advanceBy: 'rows' | 'limit';

  constructor(opts: {
    pageSize: number;
    stopWhen?: OffsetStopRule;
    startOffset?: number;
    advanceBy?: 'rows' | 'limit';
  }) {
    this.pageSize = positiveInt('pageSize', opts.pageSize);
    this.advanceBy = opts.advanceBy ?? 'rows';
    this.stopWhen = opts.stopWhen ?? 'short-page';
    this.startOffset = opts.startOffset ?? 0;
    if (!Number.isSafeInteger(this.startOffset) || this.startOffset < 0) {
      throw new RangeError(`startOffset must be a non-negative integer, got ${opts.startOffset}`);
    }
    this.stopRule = this.stopWhen === 'total' ? 'total-reached' : this.stopWhen;
  }

  first(): OffsetRequest {
    return { offset: this.startOffset, limit: this.pageSize };
  }

  next(prev: OffsetRequest, page: PageInfo): OffsetRequest | null {
    if (page.rows === 0) return null;
    if (this.stopWhen === 'short-page' && page.rows < this.pageSize) return null;
    if (this.stopWhen === 'total' && prev.offset + page.rows >= requireTotal(page, 'OffsetPaginator'))
      return null;
    const step = this.advanceBy === 'limit' ? prev.limit : page.rows;
    return { offset: prev.offset + step, limit: this.pageSize };
  }
}

export type PageNumberStopRule = 'short-page' | 'empty-page' | 'total' | 'total-pages';

export interface PageNumberRequest {
  readonly page: number;
  readonly pageSize: number;
}

/**
 * page-number paging (`page`, `pageSize`). Stop rules as for `OffsetPaginator` (`total` counts the
 * rows received so far against `page.total`), plus `total-pages`: stop after page number
 * `page.total` (counted from `firstPage`). Every rule also stops on an empty page.
 * @throws RangeError when `pageSize` is not a positive integer or `firstPage` not an integer;
 *   TypeError from `next` under `total`/`total-pages` when the page has no numeric total.
 */
export class PageNumberPaginator implements Paginator<PageNumberRequest> {
  readonly stopRule: string;
  private readonly pageSize: number;
  private readonly firstPage: number;
  private readonly stopWhen: PageNumberStopRule;
  private rowsSoFar = 0;

  constructor(opts: { pageSize: number; firstPage?: number; stopWhen?: PageNumberStopRule }) {
    this.pageSize = positiveInt('pageSize', opts.pageSize);
    this.firstPage = opts.firstPage ?? 1;
    if (!Number.isSafeInteger(this.firstPage))
      throw new RangeError(`firstPage must be an integer, got ${opts.firstPage}`);
    this.stopWhen = opts.stopWhen ?? 'short-page';
    this.stopRule =
      this.stopWhen === 'total'
        ? 'total-reached'
        : this.stopWhen === 'total-pages'
          ? 'last-page-reached'
          : this.stopWhen;
  }

  first(): PageNumberRequest {
    this.rowsSoFar = 0;
    return { page: this.firstPage, pageSize: this.pageSize };
  }

  next(prev: PageNumberRequest, page: PageInfo): PageNumberRequest | null {
    this.rowsSoFar += page.rows;
    if (page.rows === 0) return null;
    switch (this.stopWhen) {
      case 'short-page':
        if (page.rows < this.pageSize) return null;
        break;
      case 'total':
        if (this.rowsSoFar >= requireTotal(page, 'PageNumberPaginator')) return null;
        break;
      case 'total-pages':
        if (prev.page - this.firstPage + 1 >= requireTotal(page, 'PageNumberPaginator')) return null;
        break;
      case 'empty-page':
        break;
    }
    return { page: prev.page + 1, pageSize: this.pageSize };
  }
}

export interface CursorRequest {
  /** null on the first request. */
  readonly cursor: string | null;
}

/**
 * Cursor paging: follows `page.cursor` until a page has none (null, undefined or '').
 * With `stopOnEmptyPage` it also stops on an empty page (APIs that hand out a cursor past the end).
 * @throws PagingError `PAGING_LOOP` from `next` when a cursor token comes back that was already
 *   followed in this window: following it again would replay the same pages.
 */
export class CursorPaginator implements Paginator<CursorRequest> {
  readonly stopRule: string;
  private readonly stopOnEmptyPage: boolean;
  private seen = new Map<string, number>();
  private pageNo = 0;

  constructor(opts: { stopOnEmptyPage?: boolean } = {}) {
    this.stopOnEmptyPage = opts.stopOnEmptyPage ?? false;
    this.stopRule = this.stopOnEmptyPage ? 'no-next-cursor-or-empty-page' : 'no-next-cursor';
  }

  first(): CursorRequest {
    this.seen = new Map();
    this.pageNo = 1;
    return { cursor: null };
  }

  next(_prev: CursorRequest, page: PageInfo): CursorRequest | null {
    const cursor = page.cursor;
    const pageNo = this.pageNo++;
    if (cursor === undefined || cursor === null || cursor === '') return null;
    if (this.stopOnEmptyPage && page.rows === 0) return null;
    const earlier = this.seen.get(cursor);
    if (earlier !== undefined) {
      throw new PagingError(
        'PAGING_LOOP',
        `cursor ${JSON.stringify(cursor)} returned by page ${pageNo} was already returned by page ${earlier}; ` +
          `the provider is looping`,
      );
    }
    this.seen.set(cursor, pageNo);
    return { cursor };
  }
}

export type SingleShotRequest = Readonly<Record<string, never>>;

/** One request per window, for APIs without paging (SendGrid legacy, WhatCounts, BlueHornet). */
export class SingleShotPaginator implements Paginator<SingleShotRequest> {
  readonly stopRule = 'single-shot';
  first(): SingleShotRequest {
    return {};
  }
  next(): null {
    return null;
  }
}

export interface FetchedPage<Page> {
  readonly page: Page;
  readonly info: PageInfo;
}

export interface PageResult<Req, Page> extends FetchedPage<Page> {
  readonly req: Req;
  /** 1-based page number within this window. */
  readonly pageNo: number;
}

/** Returned by the generator when paging ends by its stop rule. */
export interface PagingSummary {
  readonly pages: number;
  readonly rows: number;
  readonly stopRule: string;
}

/** Far above any real window; it exists so a misbehaving provider fails instead of running forever. */
export const DEFAULT_PAGE_CAP = 100_000;

/**
 * Fetches the pages of one window, yielding each before asking the paginator for the next one.
 *
 * Loop guard: a non-empty page whose fingerprint equals that of ANY earlier non-empty page of this
 * window throws before it is yielded, so its rows are never staged twice. Catching earlier pages
 * (not just the previous one) also stops servers that wrap around (A, B, A, B…). A row repeated on
 * two different pages is normal (the list changed while paging) and does not trip it: only a
 * whole identical page does. Empty pages are not compared, as their bodies are often identical.
 *
 * @param opts.pageCap maximum pages fetched for the window (default `DEFAULT_PAGE_CAP` = 100 000).
 * @returns (as the generator's return value) pages and rows fetched and the stop rule that ended it.
 * @throws PagingError `PAGING_LOOP` on a repeated page (or repeated cursor, from `CursorPaginator`);
 *   `PAGING_CAP` when the paginator asks for a page beyond `pageCap`; RangeError for a bad `pageCap`;
 *   anything `fetchPage` or the paginator throws.
 */
export async function* paginate<Req, Page>(opts: {
  paginator: Paginator<Req>;
  fetchPage: (req: Req, pageNo: number) => Promise<FetchedPage<Page>>;
  pageCap?: number;
}): AsyncGenerator<PageResult<Req, Page>, PagingSummary, undefined> {
  const { paginator, fetchPage } = opts;
  const pageCap = positiveInt('pageCap', opts.pageCap ?? DEFAULT_PAGE_CAP);
  const seen = new Map<string, number>();
  let req: Req | null = paginator.first();
  let pageNo = 0;
  let rows = 0;
  while (req !== null) {
    pageNo += 1;
    if (pageNo > pageCap) {
      throw new PagingError(
        'PAGING_CAP',
        `page cap of ${pageCap} pages reached and the paginator (stop rule '${paginator.stopRule}') still ` +
          `asks for page ${pageNo}; split the window smaller or raise the cap`,
      );
    }
    const { page, info } = await fetchPage(req, pageNo);
    if (info.rows > 0) {
      const earlier = seen.get(info.fingerprint);
      if (earlier !== undefined) {
        throw new PagingError(
          'PAGING_LOOP',
          `page ${pageNo} is identical to page ${earlier} (fingerprint ${info.fingerprint}); ` +
            `the provider ignores the paging parameters or is looping`,
        );
      }
      seen.set(info.fingerprint, pageNo);
    }
    rows += info.rows;
    yield { req, page, info, pageNo };
    req = paginator.next(req, info);
  }
  return { pages: pageNo, rows, stopRule: paginator.stopRule };
}
