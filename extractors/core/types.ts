import type { RegisteredProviderId } from '../registry.js';

/**
 * Provider ids, as used in config files, the warehouse and folder names under extractors/: the
 * keys of the provider registry (extractors/registry.ts), so a provider is added there only.
 */
export type ProviderId = RegisteredProviderId;

/** A half-open instant range [from, to), as epoch milliseconds (UTC). */
export interface InstantRange {
  readonly from: number;
  readonly to: number;
}
