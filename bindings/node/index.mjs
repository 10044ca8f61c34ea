// The ESM entry point: the CommonJS module's exports, by name.
import lakelink from './index.js'

export const {
  Pool, Client, connect, Connection, Transaction, userToken, App, Token, token,
  lakebaseCredential, pgConfig, postgresConfig,
  getOAuthAuthorizationUrl, getOAuthAccessToken, refreshOAuthAccessToken,
  LakelinkError, InterfaceError, ConnectionStringError, AuthError, DatabaseError, InternalError, AppError,
  libraryVersion, libraryPath, normalizeConnectionString
} = lakelink
export default lakelink
