import { bluehornetProvider } from '../../extractors/bluehornet/index.js';
import { runProviderContract } from './provider-contract.js';

runProviderContract({ provider: bluehornetProvider, paged: false });
