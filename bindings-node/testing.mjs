// ESM entry of zoho-oauth/testing; the implementation is the CommonJS module beside it.
import testing from './testing.js'

export const { MockZoho, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_USER, DEFAULT_SCOPES } = testing
