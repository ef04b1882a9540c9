//! `ServerRunOptions`: the lifecycle flags of kube-apiserver.
//!
//! Mirrors `ServerRunOptions` of `k8s.io/apiserver/pkg/server/options`.

use std::net::IpAddr;
use std::time::Duration;

use crate::duration::parse_go_duration;
use crate::error::Error;

/// Flags for the server's lifecycle: addresses it advertises, timeouts and
/// the shutdown sequence.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct ServerRunOptions {
    /// The IP address on which to advertise the apiserver to members of the
    /// cluster. If blank, the --bind-address is used.
    #[arg(long = "advertise-address", value_name = "IP")]
    pub advertise_address: Option<IpAddr>,

    /// The hostname to use when generating externalized URLs for this master.
    #[arg(long = "external-hostname", value_name = "NAME")]
    pub external_hostname: Option<String>,

    /// An optional field indicating the duration a handler must keep open a
    /// request before timing it out. This is the default request timeout
    /// and the time in-flight requests get to finish at shutdown.
    #[arg(long = "request-timeout", default_value = "1m0s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub request_timeout: Duration,

    /// Time to delay the termination. During that time the server keeps
    /// serving requests normally while /readyz returns failure.
    #[arg(long = "shutdown-delay-duration", default_value = "0s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub shutdown_delay_duration: Duration,

    /// This option represents the maximum amount of time the apiserver will
    /// wait during shutdown for active watch requests to drain.
    #[arg(long = "shutdown-watch-termination-grace-period", default_value = "0s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub shutdown_watch_termination_grace_period: Duration,

    /// This option represents the maximum amount of time it should take for
    /// apiserver to complete its startup sequence and become live. During
    /// it, livez checks of post-start hooks pass.
    #[arg(long = "livez-grace-period", default_value = "0s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub livez_grace_period: Duration,
}

impl Default for ServerRunOptions {
    fn default() -> Self {
        Self {
            advertise_address: None,
            external_hostname: None,
            request_timeout: Duration::from_secs(60),
            shutdown_delay_duration: Duration::ZERO,
            shutdown_watch_termination_grace_period: Duration::ZERO,
            livez_grace_period: Duration::ZERO,
        }
    }
}

impl ServerRunOptions {
    /// Checks the flags for values that can never work.
    pub fn validate(&self) -> Vec<Error> {
        let mut errors = Vec::new();
        if self.request_timeout.is_zero() {
            errors.push(Error::InvalidFlag {
                flag: "request-timeout",
                message: "must be greater than zero".to_owned(),
            });
        }
        errors
    }
}
