//! kapi's options as plain data: clap flags with kube-apiserver's names,
//! their defaults and their validation.
//!
//! Mirrors the flag half of `k8s.io/apiserver/pkg/server/options`
//! (`SecureServingOptions`, `ServerRunOptions`). Options are parsed by clap,
//! validated with `validate()`, and turned into live serving state by
//! `kapi-server`.
//!
//! ```
//! use clap::Parser;
//! use kapi_config::{SecureServingOptions, ServerRunOptions};
//!
//! #[derive(Parser)]
//! struct Flags {
//!     #[command(flatten)]
//!     serving: SecureServingOptions,
//!     #[command(flatten)]
//!     run: ServerRunOptions,
//! }
//!
//! let flags = Flags::parse_from(["kapi", "--secure-port", "8443", "--shutdown-delay-duration", "1m10s"]);
//! assert_eq!(flags.serving.secure_port, 8443);
//! assert_eq!(flags.run.shutdown_delay_duration.as_secs(), 70);
//! ```
//!
//! ## Features
//! - `etcd`: the etcd3 storage backend (`--storage-backend etcd3`); building
//!   it needs `protoc`.

mod duration;
mod error;
mod logging;
mod run;
mod serving;
mod storage;

pub use duration::{format_go_duration, parse_go_duration};
pub use error::{Error, Result};
pub use logging::{LogFormat, LoggingOptions};
pub use run::ServerRunOptions;
pub use serving::{SecureServingOptions, ServingSetup};
pub use storage::{StorageBackend, StorageOptions};
