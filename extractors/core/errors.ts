/**
 * Every failure unsub-recon reports is one of these classes. Each carries a stable `code`
 * (documented in the README's troubleshooting table, safe to match on in scripts) and a
 * message that tells the user what to do. Only `pipelines/cli.ts` maps them to exit codes.
 *
 * Messages must never contain secrets: callers pass values through `redact()` first.
 */
export abstract class UnsubReconError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The config file is missing, unreadable or does not match the schema. */
export class ConfigError extends UnsubReconError {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly path: string,
    readonly problem: string,
    readonly expected?: string,
  ) {
    super(`config ${path}: ${problem}${expected ? `; expected ${expected}` : ''}`);
  }
}

/** Command-line arguments that commander accepted but that make no sense together. */
export class UsageError extends UnsubReconError {
  readonly code = 'USAGE';
}

/** Another process holds the warehouse for writing. */
export class WarehouseLockedError extends UnsubReconError {
  readonly code = 'WAREHOUSE_LOCKED';
  constructor(
    readonly warehouse: string,
    readonly holder: { pid: number; runId: string; startedAt: string; command: string },
  ) {
    super(
      `warehouse ${warehouse} is in use by pid ${holder.pid} (run ${holder.runId}, ${holder.command}, ` +
        `started ${holder.startedAt}); wait for it to finish or stop that process`,
    );
  }
}

/** The warehouse file could not be opened, migrated or written. */
export class WarehouseError extends UnsubReconError {
  readonly code = 'WAREHOUSE_ERROR';
}

/** A statement given to `sql` tried to change the warehouse. */
export class ReadOnlyViolationError extends UnsubReconError {
  readonly code = 'SQL_READ_ONLY';
}

/** A request failed for good: retries exhausted, or a failure that retrying cannot fix. */
export class HttpRequestError extends UnsubReconError {
  readonly code: string;
  constructor(
    message: string,
    readonly details: {
      code: 'HTTP_STATUS' | 'HTTP_NETWORK' | 'HTTP_TIMEOUT' | 'HTTP_BODY' | 'HTTP_RETRIES_EXHAUSTED';
      urlRedacted: string;
      status?: number;
      attempts: number;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = details.code;
  }
}

/** The provider answered, but with an error (often inside an HTTP 200). */
export class ProviderError extends UnsubReconError {
  readonly code: string;
  constructor(
    message: string,
    readonly details: {
      provider: string;
      accountId?: string;
      providerCode?: string;
      /** retriable: try again; fatal: stop the account (bad credentials); skippable: record and go on. */
      family: 'retriable' | 'fatal' | 'skippable';
    },
  ) {
    super(message);
    this.code = details.family === 'fatal' ? 'PROVIDER_FATAL' : `PROVIDER_${details.family.toUpperCase()}`;
  }
}

/** Paging went wrong: the same page came back twice, or the page cap was reached. */
export class PagingError extends UnsubReconError {
  readonly code: 'PAGING_LOOP' | 'PAGING_CAP';
  constructor(code: 'PAGING_LOOP' | 'PAGING_CAP', message: string) {
    super(message);
    this.code = code;
  }
}

/** A date range or window request that cannot be planned. */
export class WindowError extends UnsubReconError {
  readonly code = 'WINDOW_INVALID';
}

/** The extracted data for an account is incomplete, so it cannot be diffed. */
export class IncompleteDataError extends UnsubReconError {
  readonly code = 'DATA_INCOMPLETE';
}

/** A patch file or manifest that replay refuses. */
export class PatchError extends UnsubReconError {
  readonly code = 'PATCH_INVALID';
}

export function isUnsubReconError(error: unknown): error is UnsubReconError {
  return error instanceof UnsubReconError;
}
