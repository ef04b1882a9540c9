//! `kapi serve`: flags, logging, the data directory, and the server's run.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use kapi_config::{
    LogFormat, LoggingOptions, SecureServingOptions, ServerRunOptions, StorageOptions,
};
use kapi_server::{Config, new_empty_delegate};
use tracing_subscriber::EnvFilter;

use crate::admin;

/// Flags of `kapi serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Where kapi keeps its state, certificates and admin.kubeconfig.
    #[arg(long = "data-dir", default_value = "./kapi-data", value_name = "DIR")]
    data_dir: PathBuf,

    #[command(flatten)]
    serving: SecureServingOptions,

    #[command(flatten)]
    run: ServerRunOptions,

    #[command(flatten)]
    storage: StorageOptions,

    #[command(flatten)]
    logging: LoggingOptions,
}

pub(crate) async fn run(mut args: ServeArgs) -> anyhow::Result<()> {
    init_logging(&args.logging);
    let errors: Vec<String> = args
        .serving
        .validate()
        .into_iter()
        .chain(args.run.validate())
        .chain(args.storage.validate())
        .map(|e| e.to_string())
        .collect();
    if !errors.is_empty() {
        anyhow::bail!("invalid flags: {}", errors.join("; "));
    }
    // Install the handler first, so a signal during start-up is not lost.
    let stop = kapi_serving::setup_signal_handler()?;

    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("create data directory {}", args.data_dir.display()))?;
    let cert_dir = args
        .serving
        .cert_dir
        .clone()
        .unwrap_or_else(|| args.data_dir.join("certificates"));

    // kapi's own client CA signs the admin certificate and is trusted next
    // to any --client-ca-file.
    let client_ca = admin::ClientCa::load_or_generate(&cert_dir)?;
    args.serving.client_ca_file =
        Some(client_ca.bundle(&cert_dir, args.serving.client_ca_file.as_deref())?);

    let setup = args
        .serving
        .apply(&cert_dir, args.run.advertise_address)
        .await
        .context("set up secure serving")?;
    let server_ca_pem = match &setup.generated_ca_pem {
        Some(pem) => pem.clone(),
        None => {
            // With operator-provided certificates, kubectl trusts the chain in
            // --tls-cert-file (its last certificate is the issuer, when given).
            let path = args
                .serving
                .tls_cert_file
                .as_ref()
                .context("no serving certificate")?;
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?
        }
    };
    let kubeconfig = args.data_dir.join("admin.kubeconfig");
    admin::write_kubeconfig(
        &kubeconfig,
        &setup.loopback.host,
        &server_ca_pem,
        &client_ca,
        &cert_dir,
    )?;
    tracing::info!(kubeconfig = %kubeconfig.display(), "wrote the admin kubeconfig");

    let backend = args.storage.build(&args.data_dir).await?;
    tracing::info!(backend = backend.name(), "storage ready");

    let mut config = Config::default();
    config.storage = Some(backend.clone());
    config.storage_healthcheck_timeout = args.storage.etcd_healthcheck_timeout;
    config.apply_serving(setup);
    config.apply_run_options(&args.run);
    let server = config.complete()?.new("kapi", new_empty_delegate())?;
    let install = kapi_controlplane::InstallOptions::new(
        args.storage.etcd_prefix.clone(),
        args.storage.watch_cache,
    );
    kapi_controlplane::install(&server, backend, &install)?;
    server.prepare_run().run(stop).await?;
    Ok(())
}

fn init_logging(options: &LoggingOptions) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(options.filter_directive()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match options.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
