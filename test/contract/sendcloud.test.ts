import { sendcloudProvider } from '../../extractors/sendcloud/index.js';
import { runProviderContract } from './provider-contract.js';

runProviderContract({ provider: sendcloudProvider, paged: true });
