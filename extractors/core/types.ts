/** Provider ids, as used in config files, the warehouse and folder names under extractors/. */
export const PROVIDER_IDS = [
  'sendgrid-reseller',
  'sendgrid-subuser',
  'sendcloud',
  'whatcounts',
  'bluehornet',
] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** A half-open instant range [from, to), as epoch milliseconds (UTC). */
export interface InstantRange {
  readonly from: number;
  readonly to: number;
}
