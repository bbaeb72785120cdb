import { sendgridResellerProvider } from '../../extractors/sendgrid-reseller/index.js';
import { runProviderContract } from './provider-contract.js';

runProviderContract({ provider: sendgridResellerProvider, paged: false });
