//! Names and paths that several kapi crates (and their users) must agree on.

/// Where the legacy, groupless API (`/api/v1`) is served.
///
/// Mirrors `server.DefaultLegacyAPIPrefix`.
pub const API_PREFIX: &str = "/api";

/// Where named API groups (`/apis/<group>/<version>`) are served.
///
/// Mirrors `server.APIGroupPrefix`.
pub const APIS_PREFIX: &str = "/apis";

/// The TLS server name loopback clients send, so the server can answer with
/// its loopback certificate whatever the serving certificate is.
///
/// Mirrors `server.LoopbackClientServerNameOverride`.
pub const LOOPBACK_CLIENT_SERVER_NAME_OVERRIDE: &str = "apiserver-loopback-client";
