import { sendgridV3Provider } from '../../extractors/sendgrid-v3/index.js';
import { runProviderContract } from './provider-contract.js';

runProviderContract({ provider: sendgridV3Provider, paged: true });
