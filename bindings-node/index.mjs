// ESM entry of zoho-oauth; the implementation is the CommonJS module beside it, so both entry
// points share one set of classes (instanceof works across them).
import cjs from './index.js'

export const {
  Client,
  OAuthApp,
  TokenSet,
  Response,
  DeviceAuthorization,
  ZohoError,
  AuthError,
  RateLimitError,
  ApiError,
  TransportError,
  ConfigError,
  StoreError,
  DATA_CENTERS,
} = cjs
export default cjs
