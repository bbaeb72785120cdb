/**
 * The replay journal (`stage_replay_log`, migration 004): every item is written before its request
 * is sent and again after the answer, each batch in one committed statement, so a run killed at
 * any point leaves exactly the items that may have reached the provider. Writes from concurrent
 * targets are queued on the warehouse's one connection.
 *
 * Dry runs take the same path with {@link DryRunJournal}, which keeps nothing: a dry run must not
 * look, to the tracked-mirror rule or a later resume, like anything was sent.
 */
import { listValue } from '@duckdb/node-api';
import { normaliseEmail } from '../../extractors/core/email.js';
import { onConnection } from '../../extractors/core/staging.js';
import type { Warehouse } from '../../extractors/core/warehouse.js';
import type { LoadedPatch, LoadedPatchFile, PatchRow } from '../patch/format.js';
import { sqlFile } from '../sql/files.js';

/** What the journal's `outcome` column holds (migration 004 explains each). */
export type JournalOutcome = 'sending' | 'applied' | 'already' | 'confirmed' | 'failed' | 'error';

/** Outcomes after which an item is never sent again. */
export const DONE_OUTCOMES: ReadonlySet<string> = new Set(['applied', 'already', 'confirmed']);
/** Outcomes that leave the target's state unknown: re-read before resending. */
export const IN_DOUBT_OUTCOMES: ReadonlySet<string> = new Set(['sending', 'error']);

export interface ReplayItem {
  file: LoadedPatchFile;
  /** 1-based data row of the patch file. */
  rowNo: number;
  row: PatchRow;
  emailNorm: string;
}

export interface JournalEntry {
  item: ReplayItem;
  outcome: JournalOutcome;
  message: string;
}

export interface ReplayJournal {
  /** Writes the entries of one batch of one file in one statement. */
  record(batchNo: number, entries: readonly JournalEntry[]): Promise<void>;
}

export class WarehouseJournal implements ReplayJournal {
  private seq = 0;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly runId: string,
    private readonly patch: LoadedPatch,
  ) {}

  record(batchNo: number, entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    const file = entries[0]!.item.file;
    return onConnection(this.warehouse.connection, async () => {
      const seqs = entries.map(() => ++this.seq);
      await this.warehouse.run(sqlFile('replay', 'journal_insert'), {
        run_id: this.runId,
        patch_id: file.patchId,
        manifest_sha256: this.patch.manifestSha256,
        file_sha256: file.entry.sha256,
        group_id: this.patch.manifest.group,
        target: file.entry.target,
        provider: file.entry.provider,
        op: file.entry.op,
        batch_no: batchNo,
        written_at: new Date(),
        seqs: listValue(seqs),
        row_nos: listValue(entries.map((e) => e.item.rowNo)),
        emails: listValue(entries.map((e) => e.item.row.email)),
        norms: listValue(entries.map((e) => e.item.emailNorm)),
        outcomes: listValue(entries.map((e) => e.outcome)),
        messages: listValue(entries.map((e) => e.message)),
      });
    });
  }
}

export class DryRunJournal implements ReplayJournal {
  async record(): Promise<void> {}
}

export interface PriorState {
  outcome: string;
  runId: string;
}

/** `<patch_id>#<row_no>`: an item's key in {@link priorStates}. */
export const itemKey = (patchId: string, rowNo: number): string => `${patchId}#${rowNo}`;

/** The last journaled state of every item of the patch, from every earlier run. */
export async function priorStates(
  warehouse: Warehouse,
  patch: LoadedPatch,
): Promise<Map<string, PriorState>> {
  if (patch.files.length === 0) return new Map();
  const rows = await warehouse.all<{ patch_id: string; row_no: number; outcome: string; run_id: string }>(
    sqlFile('replay', 'item_states'),
    { files: listValue(patch.files.map((f) => `${f.patchId}#${f.entry.sha256}`)) },
  );
  return new Map(rows.map((r) => [itemKey(r.patch_id, r.row_no), { outcome: r.outcome, runId: r.run_id }]));
}

/** Every row of the patch's add/delete files as replay items, in file order. */
export function itemsOf(file: LoadedPatchFile): ReplayItem[] {
  return file.rows.map((row, i) => ({ file, rowNo: i + 1, row, emailNorm: normaliseEmail(row.email) }));
}
