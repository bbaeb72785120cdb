import { sendgridSubuserProvider } from '../../extractors/sendgrid-subuser/index.js';
import { runProviderContract } from './provider-contract.js';

runProviderContract({ provider: sendgridSubuserProvider, paged: false });
