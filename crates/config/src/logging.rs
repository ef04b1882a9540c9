//! `LoggingOptions`: klog-style verbosity (`-v`) and the log format.
//!
//! Mirrors the logging flags of `k8s.io/component-base/logs` that
//! kube-apiserver accepts: `-v` / `--v` and `--logging-format`, here spelled
//! `--log-format` (with `--logging-format` as an alias).

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging flags.
#[derive(Debug, Clone, Default, clap::Args)]
#[non_exhaustive]
pub struct LoggingOptions {
    /// Number for the log level verbosity, as klog's -v: 0-1 info, 2-4
    /// debug, 5 and more trace. RUST_LOG, when set, wins.
    #[arg(short = 'v', long = "v", default_value_t = 0, value_name = "LEVEL")]
    pub verbosity: u8,

    /// Sets the log format.
    #[arg(long = "log-format", alias = "logging-format", value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
}

impl LoggingOptions {
    /// The `tracing` filter directive for the verbosity: kapi's own crates
    /// at the chosen level, everything else one level quieter.
    pub fn filter_directive(&self) -> String {
        let (ours, theirs) = match self.verbosity {
            0 | 1 => ("info", "warn"),
            2..=4 => ("debug", "info"),
            _ => ("trace", "debug"),
        };
        format!(
            "{theirs},kapi={ours},kapi_core={ours},kapi_config={ours},kapi_healthz={ours},kapi_mux={ours},kapi_routes={ours},kapi_server={ours},kapi_serving={ours}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_levels() {
        let check = |verbosity: u8, expected_prefix: &str, ours: &str| {
            let options = LoggingOptions {
                verbosity,
                format: LogFormat::Text,
            };
            let directive = options.filter_directive();
            assert!(directive.starts_with(expected_prefix), "{directive}");
            assert!(
                directive.contains(&format!("kapi_server={ours}")),
                "{directive}"
            );
        };
        check(0, "warn,", "info");
        check(2, "info,", "debug");
        check(6, "debug,", "trace");
    }
}
