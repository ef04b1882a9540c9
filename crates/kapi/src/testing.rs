//! `TestServer`: the whole kapi control plane in-process, for tests.
//!
//! The counterpart of kube-apiserver's `testing.StartTestServer`: serving
//! certificates generated in a temporary directory, a listener on
//! 127.0.0.1 with a random port, memory storage, every built-in resource
//! ([`kapi_controlplane::install`]), a `kube::Client` and a kubeconfig for
//! kubectl that both authenticate as `kapi-admin` (O `system:masters`) with
//! a client certificate, as `kapi serve`'s `admin.kubeconfig` does. Any
//! number run side by side in one test binary; each stops when dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use kapi_config::SecureServingOptions;
use kapi_controlplane::InstallOptions;
use kapi_server::{Config, new_empty_delegate};
use kapi_serving::CertificateAuthority;
use kapi_storage::Backend;
use kapi_storage::memory::MemoryBackend;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long [`TestServer::start`] waits for `/readyz` to say `ok`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the admin client certificate is valid: longer than any test.
const ADMIN_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// A running in-process kapi server; stopped when dropped.
///
/// ```no_run
/// # async fn example() -> anyhow::Result<()> {
/// let server = kapi::testing::TestServer::start().await?;
/// let version = server.client().apiserver_version().await?;
/// println!("{} serves {}", server.address(), version.git_version);
/// # Ok(())
/// # }
/// ```
pub struct TestServer {
    client: kube::Client,
    kubeconfig: PathBuf,
    address: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<kapi_server::Result<()>>>,
    startup: Duration,
    // Last, so the certificates and kubeconfig outlive everything above.
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server and returns once its `/readyz` says `ok` (the
    /// `default` namespace exists by then). Must be called inside a tokio
    /// runtime; the server runs on a spawned task.
    ///
    /// # Errors
    /// When the certificates, the listener or the kubeconfig cannot be set
    /// up, or the server does not become ready within 30 seconds.
    pub async fn start() -> anyhow::Result<Self> {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("kapi-test-server")
            .tempdir()
            .context("create the temporary directory")?;
        let cert_dir = dir.path().join("certificates");
        std::fs::create_dir_all(&cert_dir)
            .with_context(|| format!("create {}", cert_dir.display()))?;

        // A client CA of its own signs the admin certificate.
        let client_ca = CertificateAuthority::generate("kapi-client-ca")?;
        let client_ca_file = cert_dir.join("client-ca.crt");
        std::fs::write(&client_ca_file, client_ca.cert_pem())
            .with_context(|| format!("write {}", client_ca_file.display()))?;
        let admin =
            client_ca.issue_client("kapi-admin", &["system:masters".to_owned()], ADMIN_VALIDITY)?;

        let mut serving = SecureServingOptions::default();
        serving.bind_address = Ipv4Addr::LOCALHOST.into();
        serving.secure_port = 0;
        serving.cert_dir = Some(cert_dir.clone());
        serving.client_ca_file = Some(client_ca_file);
        let setup = serving
            .apply(&cert_dir, None)
            .await
            .context("set up secure serving")?;
        let address = setup.info.local_addr();
        let server_ca_pem = setup
            .generated_ca_pem
            .clone()
            .context("no generated serving CA")?;
        let host = setup.loopback.host.clone();

        let kubeconfig = dir.path().join("admin.kubeconfig");
        write_kubeconfig(
            &kubeconfig,
            &host,
            &server_ca_pem,
            &admin.cert_pem,
            &admin.key_pem,
        )?;

        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::new());
        let mut config = Config::default();
        config.storage = Some(backend.clone());
        config.apply_serving(setup);
        let server = config.complete()?.new("kapi", new_empty_delegate())?;
        kapi_controlplane::install(&server, backend, &InstallOptions::default())?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(server.prepare_run().run(stop.clone()));

        let client = client_from(&kubeconfig).await?;
        let mut this = Self {
            client,
            kubeconfig,
            address,
            stop,
            task: Some(task),
            startup: Duration::ZERO,
            _dir: dir,
        };
        this.wait_ready().await?;
        this.startup = started.elapsed();
        Ok(this)
    }

    /// A client of the server, authenticated as `kapi-admin`.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// A kubeconfig for kubectl (`--kubeconfig`), with the same identity
    /// as [`client`](Self::client); removed when the server is dropped.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Where the server listens: 127.0.0.1 and its port.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// How long [`start`](Self::start) took, up to a ready `/readyz`.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Stops the server and waits until it has shut down.
    ///
    /// # Errors
    /// The server's own error, if it stopped with one.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => Ok(task.await.context("the server task failed")??),
            None => Ok(()),
        }
    }

    /// Polls `/readyz` until it answers `ok`, failing early when the
    /// server's task ends.
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(task) = self.task.take_if(|task| task.is_finished()) {
                task.await.context("the server task failed")??;
                anyhow::bail!("the server stopped before it was ready");
            }
            let request = http::Request::get("/readyz").body(Vec::new())?;
            let last = match self.client.request_text(request).await {
                Ok(body) if body == "ok" => return Ok(()),
                Ok(body) => body,
                Err(err) => err.to_string(),
            };
            if Instant::now() >= deadline {
                anyhow::bail!("not ready after {READY_TIMEOUT:?}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("address", &self.address)
            .field("kubeconfig", &self.kubeconfig)
            .field("startup", &self.startup)
            .finish_non_exhaustive()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A `kube::Client` for the kubeconfig at `path`.
async fn client_from(path: &Path) -> anyhow::Result<kube::Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("read {}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .context("load the kubeconfig")?;
    Ok(kube::Client::try_from(config)?)
}

/// Writes a kubeconfig like `kapi serve`'s `admin.kubeconfig`: cluster
/// `kapi` at `server`, user `kapi-admin` with its client certificate,
/// context `kapi` selected.
fn write_kubeconfig(
    path: &Path,
    server: &str,
    server_ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> anyhow::Result<()> {
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let kubeconfig = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": "kapi",
            "cluster": {"server": server, "certificate-authority-data": b64(server_ca_pem)},
        }],
        "users": [{
            "name": "kapi-admin",
            "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)},
        }],
        "contexts": [{"name": "kapi", "context": {"cluster": "kapi", "user": "kapi-admin"}}],
        "current-context": "kapi",
        "preferences": {},
    });
    let text = kapi_core::yaml::to_string(&kubeconfig)?;
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}
