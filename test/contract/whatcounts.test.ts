import { whatcountsProvider } from '../../extractors/whatcounts/index.js';
import { runProviderContract } from './provider-contract.js';

runProviderContract({ provider: whatcountsProvider, paged: false });
