//! `cargo xtask bench api`: the REST API measurements of
//! `docs/benchmarks.md` — GET of one ConfigMap through the whole handler
//! chain of a real `kapi serve` beside a bare axum + rustls server that
//! answers the same bytes, LIST of 10,000 ConfigMaps from the watch cache,
//! and `kapi::testing::TestServer::start()` to ready.
//!
//! The debug-built `cargo xtask` builds the release binaries (xtask, `kapi`
//! and kapi's `api_bench` example) and re-runs this command from the release
//! xtask, so the load generator and the LIST client are not a debug build
//! of rustls. `kapi serve` runs as a child process on a loopback port with
//! sqlite storage in a temporary data directory and is killed by PID; the
//! bare server runs on its own two-worker runtime in this process (as many
//! workers as `kapi serve` has on two cores) and stops when dropped; the
//! TestServer starts run in the `api_bench` example, killed by PID if it
//! overstays. Everything talks to 127.0.0.1 only and every wait is bounded.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::format::{met, millis as ms, thousands};
use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ServerConfig};
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::load::{Generator, Load};
use super::process::{Server, free_port, wait_bounded};
use super::{BenchArgs, client, release_dir, rerun_from_release, run_build};
use crate::{cargo, display_command};

/// Marks the start of the section `--write` owns in docs/benchmarks.md.
const START_MARKER: &str = "<!-- bench:api:start -->";
/// Marks its end.
const END_MARKER: &str = "<!-- bench:api:end -->";

/// The namespace of the GET object.
const GET_NAMESPACE: &str = "default";
/// The name of the GET object.
const GET_NAME: &str = "bench-get";
/// The namespace holding the listed objects (and nothing else).
const LIST_NAMESPACE: &str = "bench-list";
/// ConfigMaps listed.
const LIST_OBJECTS: usize = 10_000;
/// Timed LIST runs per kind of LIST (after two warm-ups each).
const LIST_RUNS: usize = 15;
/// Bytes of the one data value: the stored object is then ~1 KiB of JSON.
const PAYLOAD_BYTES: usize = 500;
/// Connections that create the listed objects.
const SEED_CONNECTIONS: usize = 16;
/// Timed `TestServer::start()` runs.
const STARTS: u32 = 50;

/// Target: kapi's GET requests/s over the bare server's.
const GET_RATIO_TARGET: f64 = 0.5;
/// Target: LIST response body MB/s (10^6 bytes) from the watch cache.
const LIST_MBPS_TARGET: f64 = 200.0;
/// Target: `TestServer::start()` to ready, median, in ms.
const STARTUP_TARGET_MS: f64 = 20.0;

/// Bound on the `api_bench startup` process.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Bound on creating the objects.
const SEED_TIMEOUT: Duration = Duration::from_secs(3 * 60);
/// Bound on one request of the LIST client or a probe.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `cargo xtask bench api [--write]`.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if !args.built {
        build()?;
        return rerun_from_release();
    }
    let release = release_dir()?;
    let kapi = release.join("kapi");
    let example = release.join("examples/api_bench");
    for path in [&kapi, &example] {
        if !path.is_file() {
            bail!(
                "{} is missing; run `cargo xtask bench api` (it builds it)",
                path.display()
            );
        }
    }
    let scratch = tempfile::Builder::new()
        .prefix("kapi-bench-api-")
        .tempdir()?;
    let mut results = Results::default();

    println!("\n==> TestServer::start() × {STARTS}");
    results.startup = Some(measure_startup(&example, scratch.path())?);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    let mut server = start_kapi(&kapi, scratch.path(), &rt)?;
    let config = client::insecure_client_config()?;
    println!(
        "\n==> creating 1 + {LIST_OBJECTS} ConfigMaps of ~1 KiB in kapi (pid {})",
        server.pid()
    );
    let object = rt.block_on(seed(server.port, &config))?;
    results.object_bytes = object.body.len();
    println!("GET answers {} bytes of JSON", object.body.len());

    let content_type = object
        .content_type
        .clone()
        .unwrap_or_else(|| HeaderValue::from_static("application/json"));
    let bare = BareServer::start(object.body.clone(), content_type)?;
    rt.block_on(bare.wait_ready(&config))?;
    results.get = Some(measure_get(args, &server, &bare)?);
    drop(bare);
    server.ensure_running()?;

    results.list = rt.block_on(measure_list(server.port, &config))?;
    server.ensure_running()?;
    // Killed by PID.
    drop(server);

    let table = results.table();
    println!("\n{table}");
    if args.write {
        super::format::write_section(START_MARKER, END_MARKER, |date, machine| {
            results.section(date, machine)
        })?;
    }
    Ok(())
}

/// Builds xtask, `kapi` and the `api_bench` example in release. One cargo
/// invocation for both kapi targets, so they share one feature set.
fn build() -> anyhow::Result<()> {
    let mut helpers = cargo();
    helpers.args(["build", "--release", "-p", "xtask", "--bins"]);
    run_build(&mut helpers).context("building xtask's release binaries")?;
    let mut kapi = cargo();
    kapi.args([
        "build",
        "--release",
        "-p",
        "kapi",
        "--features",
        "testing",
        "--bin",
        "kapi",
        "--example",
        "api_bench",
    ]);
    run_build(&mut kapi).context("building kapi and its api_bench example")
}

/// Runs `api_bench startup` and reads its JSON line.
fn measure_startup(example: &Path, scratch: &Path) -> anyhow::Result<StartupTimes> {
    let out_path = scratch.join("startup.jsonl");
    let out =
        File::create(&out_path).with_context(|| format!("creating {}", out_path.display()))?;
    let mut cmd = Command::new(example);
    cmd.args(["startup", "--runs", &STARTS.to_string()])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::inherit());
    println!("==> {}", display_command(&cmd));
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", example.display()))?;
    let status = wait_bounded(&mut child, STARTUP_TIMEOUT).context("api_bench startup")?;
    if !status.success() {
        bail!("`{}` failed ({status})", display_command(&cmd));
    }
    let text = fs::read_to_string(&out_path)?;
    let line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .context("`api_bench startup` printed nothing")?;
    let times: StartupTimes = serde_json::from_str(line)
        .with_context(|| format!("`api_bench startup` printed {line:?}"))?;
    ensure!(
        times.kind == "startup" && !times.ready_ms.is_empty(),
        "`api_bench startup` printed {line:?}"
    );
    println!(
        "ready: median {} (p90 {})",
        ms(quantile(&times.ready_ms, 0.5)),
        ms(quantile(&times.ready_ms, 0.9))
    );
    Ok(times)
}

/// Starts `kapi serve` in a fresh data directory and waits for /readyz.
fn start_kapi(kapi: &Path, scratch: &Path, rt: &Runtime) -> anyhow::Result<Server> {
    let port = free_port()?;
    let data = tempfile::Builder::new()
        .prefix("data-")
        .tempdir_in(scratch)?;
    let mut cmd = Command::new(kapi);
    cmd.arg("serve").arg("--data-dir").arg(data.path()).args([
        "--secure-port",
        &port.to_string(),
        "--bind-address",
        "127.0.0.1",
    ]);
    println!("\n==> {}", display_command(&cmd));
    let mut server = Server::spawn("kapi", cmd, port, scratch.join("kapi.log"), Some(data))?;
    let ready = server.wait_ready(rt, "/readyz")?;
    println!("ready in {}", ms(ready.as_secs_f64() * 1e3));
    Ok(server)
}

/// The GET object as kapi answers it.
#[derive(Debug)]
struct Object {
    body: Bytes,
    content_type: Option<HeaderValue>,
}

/// Creates the `bench-list` namespace, the GET object and the listed
/// objects; returns the GET object as kapi serves it.
async fn seed(port: u16, config: &Arc<ClientConfig>) -> anyhow::Result<Object> {
    let work = async {
        let mut conn = connect(port, config).await?;
        let namespace = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": LIST_NAMESPACE},
        });
        post(&mut conn, port, "/api/v1/namespaces", &namespace).await?;
        post(
            &mut conn,
            port,
            &format!("/api/v1/namespaces/{GET_NAMESPACE}/configmaps"),
            &configmap(GET_NAMESPACE, GET_NAME),
        )
        .await?;
        let started = Instant::now();
        let mut writers = Vec::with_capacity(SEED_CONNECTIONS);
        for writer in 0..SEED_CONNECTIONS {
            let config = config.clone();
            writers.push(tokio::spawn(async move {
                let mut conn = connect(port, &config).await?;
                let path = format!("/api/v1/namespaces/{LIST_NAMESPACE}/configmaps");
                for i in (writer..LIST_OBJECTS).step_by(SEED_CONNECTIONS) {
                    let name = format!("cm-{i:05}");
                    post(&mut conn, port, &path, &configmap(LIST_NAMESPACE, &name)).await?;
                }
                anyhow::Ok(())
            }));
        }
        for writer in writers {
            writer.await.context("a seeding connection panicked")??;
        }
        println!(
            "created {LIST_OBJECTS} ConfigMaps in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let path = format!("/api/v1/namespaces/{GET_NAMESPACE}/configmaps/{GET_NAME}");
        let answer = send(&mut conn, port, Method::GET, &path, None).await?;
        ensure!(
            answer.status == StatusCode::OK,
            "GET {path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        let value: serde_json::Value =
            serde_json::from_slice(&answer.body).with_context(|| format!("GET {path}: JSON"))?;
        ensure!(
            value["kind"] == "ConfigMap" && value["metadata"]["name"] == GET_NAME,
            "GET {path} answered {value}"
        );
        let cached = format!("{path}?resourceVersion=0");
        let from_cache = send(&mut conn, port, Method::GET, &cached, None).await?;
        ensure!(
            from_cache.status == StatusCode::OK,
            "GET {cached}: {} {}",
            from_cache.status,
            String::from_utf8_lossy(&from_cache.body)
        );
        if from_cache.body != answer.body {
            println!(
                "note: GET {cached} answers other bytes ({}) than GET {path} ({})",
                from_cache.body.len(),
                answer.body.len()
            );
        }
        Ok(Object {
            body: answer.body,
            content_type: answer.content_type,
        })
    };
    tokio::time::timeout(SEED_TIMEOUT, work)
        .await
        .with_context(|| format!("creating the objects took longer than {SEED_TIMEOUT:?}"))?
}

/// A ConfigMap of ~1 KiB once stored (metadata added by the server).
fn configmap(namespace: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": "kapi-bench"},
        },
        "data": {"payload": "x".repeat(PAYLOAD_BYTES)},
    })
}

/// GET throughput of kapi (from storage, and from the watch cache with
/// `resourceVersion=0`) and of the bare server, alternating rounds.
fn measure_get(args: &BenchArgs, kapi: &Server, bare: &BareServer) -> anyhow::Result<GetResults> {
    let generator = Generator::resolve(args.load_generator)?;
    let duration = Duration::from_secs(args.duration);
    let connections = args.connections as usize;
    let path = format!("/api/v1/namespaces/{GET_NAMESPACE}/configmaps/{GET_NAME}");
    let cached = format!("{path}?resourceVersion=0");
    let targets = [
        (GetTarget::Kapi, kapi.port, path.as_str()),
        (GetTarget::KapiCache, kapi.port, cached.as_str()),
        (GetTarget::Bare, bare.port, path.as_str()),
    ];
    for (target, port, path) in targets {
        // Warm up connections, caches and the allocator; not counted.
        generator
            .run(port, path, connections, Duration::from_secs(1))
            .with_context(|| format!("warming up {}", target.label()))?;
    }
    let mut results = GetResults {
        rounds: Vec::new(),
        setup: format!(
            "{}, {connections} keep-alive HTTP/1.1 connections over TLS, {} × {} s rounds per \
             target, alternating",
            generator.name(),
            args.rounds,
            args.duration
        ),
    };
    for round in 1..=args.rounds {
        for (target, port, path) in targets {
            println!(
                "\n==> GET round {round}/{}: {}, {} for {duration:?} with {connections} connections",
                args.rounds,
                target.label(),
                generator.name()
            );
            let load = generator
                .run(port, path, connections, duration)
                .with_context(|| format!("loading {}", target.label()))?;
            println!(
                "{:.0} requests/s, p50 {:?}, p99 {:?}",
                load.requests_per_sec, load.p50, load.p99
            );
            results.rounds.push((target, load));
        }
    }
    Ok(results)
}

/// Times LISTs of the listed namespace: `resourceVersion=0` and consistent
/// (no resourceVersion), alternating, on one keep-alive connection.
async fn measure_list(port: u16, config: &Arc<ClientConfig>) -> anyhow::Result<Vec<ListResult>> {
    let base = format!("/api/v1/namespaces/{LIST_NAMESPACE}/configmaps");
    let kinds = [
        (ListKind::Rv0, format!("{base}?resourceVersion=0")),
        (ListKind::Consistent, base.clone()),
    ];
    let mut conn = connect(port, config).await?;
    let mut results = Vec::new();
    for (kind, path) in &kinds {
        // Check what is listed once, with the whole body in memory.
        let answer = send(&mut conn, port, Method::GET, path, None).await?;
        ensure!(
            answer.status == StatusCode::OK,
            "GET {path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
        let list: serde_json::Value =
            serde_json::from_slice(&answer.body).with_context(|| format!("GET {path}: JSON"))?;
        let items = list["items"].as_array().map_or(0, Vec::len);
        ensure!(
            list["kind"] == "ConfigMapList" && items == LIST_OBJECTS,
            "GET {path} listed {items} items of kind {}, expected {LIST_OBJECTS} ConfigMaps",
            list["kind"]
        );
        results.push(ListResult {
            kind: *kind,
            bytes: answer.body.len(),
            millis: Vec::new(),
        });
        // A second warm-up, streamed like the timed runs.
        timed_get(&mut conn, port, path).await?;
    }
    println!("\n==> LIST × {LIST_RUNS} per kind, alternating");
    for _ in 0..LIST_RUNS {
        for ((_, path), result) in kinds.iter().zip(&mut results) {
            let (elapsed, bytes) = timed_get(&mut conn, port, path).await?;
            ensure!(
                bytes == result.bytes,
                "GET {path} answered {bytes} bytes, first {}",
                result.bytes
            );
            result.millis.push(elapsed.as_secs_f64() * 1e3);
        }
    }
    for result in &results {
        println!(
            "{}: median {}, {:.0} MB/s",
            result.kind.label(),
            ms(quantile(&result.millis, 0.5)),
            result.mb_per_sec()
        );
    }
    Ok(results)
}

/// The bare axum + rustls server: answers every GET with `body`.
#[derive(Debug)]
struct BareServer {
    port: u16,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BareServer {
    /// Serves `body` on 127.0.0.1 from a thread with a two-worker runtime.
    fn start(body: Bytes, content_type: HeaderValue) -> anyhow::Result<Self> {
        let listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let acceptor = TlsAcceptor::from(bare_tls_config()?);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bare-server")
            .enable_all()
            .build()
            .context("starting the bare server's runtime")?;
        let (stop, stopped) = oneshot::channel();
        let app = Router::new().fallback(get(move || {
            let body = body.clone();
            let content_type = content_type.clone();
            async move { ([(header::CONTENT_TYPE, content_type)], body) }
        }));
        let thread = std::thread::Builder::new()
            .name("bare-server".to_owned())
            .spawn(move || {
                let serve = async move {
                    let listener = TcpListener::from_std(listener)?;
                    let mut stopped = stopped;
                    loop {
                        let (tcp, _) = tokio::select! {
                            _ = &mut stopped => return anyhow::Ok(()),
                            accepted = listener.accept() => match accepted {
                                Ok(accepted) => accepted,
                                Err(_) => continue,
                            },
                        };
                        let _ = tcp.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        let service = TowerToHyperService::new(app.clone());
                        tokio::spawn(async move {
                            let Ok(tls) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let _ = auto::Builder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(tls), service)
                                .await;
                        });
                    }
                };
                if let Err(err) = rt.block_on(serve) {
                    eprintln!("bare server: {err:#}");
                }
                // Dropping the runtime drops the open connections.
            })
            .context("starting the bare server's thread")?;
        Ok(Self {
            port,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Waits until the bare server answers a GET.
    async fn wait_ready(&self, config: &Arc<ClientConfig>) -> anyhow::Result<()> {
        let path = format!("/api/v1/namespaces/{GET_NAMESPACE}/configmaps/{GET_NAME}");
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            let probe = async {
                let mut conn = connect(self.port, config).await?;
                send(&mut conn, self.port, Method::GET, &path, None).await
            };
            match probe.await {
                Ok(answer) if answer.status == StatusCode::OK => return Ok(()),
                Ok(answer) if Instant::now() > deadline => {
                    bail!("the bare server answered {}", answer.status)
                }
                Err(err) if Instant::now() > deadline => {
                    return Err(err.context("the bare server did not answer"));
                }
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What `hello_tls` serves with: TLS 1.3, ring, a fresh self-signed
/// certificate, ALPN h2 and http/1.1.
fn bare_tls_config() -> anyhow::Result<Arc<ServerConfig>> {
    let cert = rcgen::generate_simple_self_signed(["127.0.0.1".to_owned(), "localhost".to_owned()])
        .context("generating a self-signed certificate")?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .context("ring supports TLS 1.3")?
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .context("installing the certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// An HTTP/1.1 keep-alive connection that can send request bodies.
type Conn = SendRequest<Full<Bytes>>;

/// Opens a TLS connection to `127.0.0.1:port` and an HTTP/1.1 session on it.
async fn connect(port: u16, config: &Arc<ClientConfig>) -> anyhow::Result<Conn> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let tcp = tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect(addr))
        .await
        .with_context(|| format!("connecting to {addr}: timed out"))?
        .with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    let name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
    let tls = TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .context("TLS handshake")?;
    let (sender, connection) = http1::handshake(TokioIo::new(tls))
        .await
        .context("HTTP/1.1 handshake")?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the server closes.
        let _ = connection.await;
    });
    Ok(sender)
}

/// One answer, read whole.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

fn request(
    port: u16,
    method: Method,
    path: &str,
    body: Option<Bytes>,
) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, format!("127.0.0.1:{port}"))
        .header(header::ACCEPT, "application/json");
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    builder
        .body(Full::new(body.unwrap_or_default()))
        .context("building the request")
}

/// Sends a request and reads the whole answer.
async fn send(
    conn: &mut Conn,
    port: u16,
    method: Method,
    path: &str,
    body: Option<Bytes>,
) -> anyhow::Result<Answer> {
    let request = request(port, method.clone(), path, body)?;
    let exchange = async {
        conn.ready().await.context("connection closed")?;
        let response = conn
            .send_request(request)
            .await
            .context("sending the request")?;
        let status = response.status();
        let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading the body")?
            .to_bytes();
        anyhow::Ok(Answer {
            status,
            content_type,
            body,
        })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .with_context(|| format!("{method} {path}: no answer within {REQUEST_TIMEOUT:?}"))?
        .with_context(|| format!("{method} {path}"))
}

/// POSTs `object` and expects 201 Created.
async fn post(
    conn: &mut Conn,
    port: u16,
    path: &str,
    object: &serde_json::Value,
) -> anyhow::Result<()> {
    let body = Bytes::from(serde_json::to_vec(object)?);
    let answer = send(conn, port, Method::POST, path, Some(body)).await?;
    if answer.status != StatusCode::CREATED {
        bail!(
            "POST {path}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(())
}

/// GETs `path` and times it from the request to the last body byte,
/// counting the body's bytes without keeping them.
async fn timed_get(conn: &mut Conn, port: u16, path: &str) -> anyhow::Result<(Duration, usize)> {
    let request = request(port, Method::GET, path, None)?;
    let exchange = async {
        conn.ready().await.context("connection closed")?;
        let started = Instant::now();
        let response = conn
            .send_request(request)
            .await
            .context("sending the request")?;
        ensure!(response.status() == StatusCode::OK, "{}", response.status());
        let mut body = response.into_body();
        let mut bytes = 0;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.context("reading the body")?.into_data() {
                bytes += data.len();
            }
        }
        Ok((started.elapsed(), bytes))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .with_context(|| format!("GET {path}: no answer within {REQUEST_TIMEOUT:?}"))?
        .with_context(|| format!("GET {path}"))
}

/// The JSON line `api_bench startup` prints.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
struct StartupTimes {
    kind: String,
    ready_ms: Vec<f64>,
    first_request_ms: Vec<f64>,
    stop_ms: Vec<f64>,
}

/// What a GET load round drove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GetTarget {
    /// `kapi serve`, a plain GET (read from sqlite, as kube-apiserver reads
    /// from etcd).
    Kapi,
    /// `kapi serve`, `?resourceVersion=0` (served from the watch cache).
    KapiCache,
    /// The bare axum + rustls server.
    Bare,
}

impl GetTarget {
    fn label(self) -> &'static str {
        match self {
            GetTarget::Kapi => "kapi serve (sqlite, whole chain)",
            GetTarget::KapiCache => "kapi serve, ?resourceVersion=0 (watch cache)",
            GetTarget::Bare => "bare axum + rustls, same bytes",
        }
    }
}

/// GET load of every target, one entry per target and round.
#[derive(Debug, Clone, PartialEq)]
struct GetResults {
    rounds: Vec<(GetTarget, Load)>,
    /// How the load was made.
    setup: String,
}

impl GetResults {
    fn loads(&self, target: GetTarget) -> Vec<Load> {
        self.rounds
            .iter()
            .filter(|(t, _)| *t == target)
            .map(|(_, load)| *load)
            .collect()
    }

    /// Mean requests/s of `target` over its rounds.
    fn mean(&self, target: GetTarget) -> Option<f64> {
        let loads = self.loads(target);
        (!loads.is_empty())
            .then(|| loads.iter().map(|l| l.requests_per_sec).sum::<f64>() / loads.len() as f64)
    }

    /// `target`'s mean requests/s over the bare server's.
    fn ratio(&self, target: GetTarget) -> Option<f64> {
        let bare = self.mean(GetTarget::Bare)?;
        let mean = self.mean(target)?;
        (bare > 0.0).then(|| mean / bare)
    }

    /// The worst (largest) p50 and p99 of `target` over the rounds.
    fn latency(&self, target: GetTarget) -> String {
        let loads = self.loads(target);
        let p50 = loads.iter().map(|l| l.p50).max().unwrap_or_default();
        let p99 = loads.iter().map(|l| l.p99).max().unwrap_or_default();
        format!(
            "{} / {}",
            ms(p50.as_secs_f64() * 1e3),
            ms(p99.as_secs_f64() * 1e3)
        )
    }
}

/// Which LIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    /// `?resourceVersion=0`: any cached state will do.
    Rv0,
    /// No resourceVersion: a consistent read (from the cache once it has
    /// caught up with the backend's current revision).
    Consistent,
}

impl ListKind {
    fn label(self) -> &'static str {
        match self {
            ListKind::Rv0 => "resourceVersion=0",
            ListKind::Consistent => "consistent (no resourceVersion)",
        }
    }
}

/// The timed LISTs of one kind.
#[derive(Debug, Clone, PartialEq)]
struct ListResult {
    kind: ListKind,
    /// Response body bytes of one LIST.
    bytes: usize,
    /// Each run's time to the last body byte, in ms.
    millis: Vec<f64>,
}

impl ListResult {
    /// Body MB (10^6 bytes) per second at the median time.
    fn mb_per_sec(&self) -> f64 {
        let seconds = quantile(&self.millis, 0.5) / 1e3;
        if seconds > 0.0 {
            self.bytes as f64 / 1e6 / seconds
        } else {
            0.0
        }
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Default, PartialEq)]
struct Results {
    /// Bytes of the GET object's JSON.
    object_bytes: usize,
    get: Option<GetResults>,
    list: Vec<ListResult>,
    startup: Option<StartupTimes>,
}

impl Results {
    /// The results as a Markdown table.
    fn table(&self) -> String {
        let dash = || "–".to_owned();
        let mut rows: Vec<[String; 4]> = Vec::new();
        if let Some(get) = &self.get {
            let targets = [GetTarget::Kapi, GetTarget::KapiCache, GetTarget::Bare];
            for target in targets {
                rows.push([
                    format!(
                        "GET one ConfigMap ({} bytes of JSON) over TLS, requests/s (mean of \
                         rounds): {}",
                        thousands(self.object_bytes as f64),
                        target.label()
                    ),
                    get.mean(target).map_or_else(dash, thousands),
                    dash(),
                    dash(),
                ]);
            }
            for target in targets {
                rows.push([
                    format!("GET latency p50 / p99 (worst round): {}", target.label()),
                    get.latency(target),
                    dash(),
                    dash(),
                ]);
            }
            let ratio = get.ratio(GetTarget::Kapi);
            rows.push([
                "GET requests/s ratio kapi / bare".to_owned(),
                ratio.map_or_else(dash, |r| format!("{r:.2}")),
                format!("≥ {GET_RATIO_TARGET}"),
                met(ratio.map(|r| r >= GET_RATIO_TARGET)),
            ]);
            rows.push([
                "GET requests/s ratio kapi ?resourceVersion=0 / bare".to_owned(),
                get.ratio(GetTarget::KapiCache)
                    .map_or_else(dash, |r| format!("{r:.2}")),
                dash(),
                dash(),
            ]);
        }
        for list in &self.list {
            let what = format!(
                "LIST {} ConfigMaps ({:.1} MB of JSON) from the watch cache, {}",
                thousands(LIST_OBJECTS as f64),
                list.bytes as f64 / 1e6,
                list.kind.label()
            );
            rows.push([
                format!(
                    "{what}: time per LIST, median (p90) of {}",
                    list.millis.len()
                ),
                format!(
                    "{} ({})",
                    ms(quantile(&list.millis, 0.5)),
                    ms(quantile(&list.millis, 0.9))
                ),
                dash(),
                dash(),
            ]);
            let judged = list.kind == ListKind::Rv0;
            rows.push([
                format!("{what}: response body MB/s at the median"),
                format!("{:.0} MB/s", list.mb_per_sec()),
                if judged {
                    format!("≥ {LIST_MBPS_TARGET:.0} MB/s")
                } else {
                    dash()
                },
                if judged {
                    met(Some(list.mb_per_sec() >= LIST_MBPS_TARGET))
                } else {
                    dash()
                },
            ]);
        }
        if let Some(startup) = &self.startup {
            let runs = startup.ready_ms.len();
            let summary = |values: &[f64]| {
                format!(
                    "{} ({})",
                    ms(quantile(values, 0.5)),
                    ms(quantile(values, 0.9))
                )
            };
            let ready = quantile(&startup.ready_ms, 0.5);
            rows.push([
                format!("`TestServer::start()` to ready, median (p90) of {runs}"),
                summary(&startup.ready_ms),
                format!("median ≤ {STARTUP_TARGET_MS:.0} ms"),
                met(Some(ready <= STARTUP_TARGET_MS)),
            ]);
            rows.push([
                "`TestServer::start()` to the first GET through its `kube::Client` done, median \
                 (p90)"
                    .to_owned(),
                summary(&startup.first_request_ms),
                dash(),
                dash(),
            ]);
            rows.push([
                "`TestServer::shutdown()`, median (p90)".to_owned(),
                summary(&startup.stop_ms),
                dash(),
                dash(),
            ]);
        }
        let mut out = String::from("| measurement | result | target | met |\n|---|---:|---|---|\n");
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        if let Some(get) = &self.get {
            let _ = writeln!(out, "\nGET load: {}.", get.setup);
        }
        out
    }

    /// The body of the docs/benchmarks.md section.
    fn section(&self, date: &str, machine: &str) -> String {
        format!(
            "Measured {date} on {machine}.\n\n{}\nTargets: GET requests/s kapi / bare ≥ \
             {GET_RATIO_TARGET}; LIST from the watch cache ≥ {LIST_MBPS_TARGET:.0} MB/s of \
             response body; `TestServer::start()` to ready ≤ {STARTUP_TARGET_MS:.0} ms \
             (median).\n",
            self.table(),
        )
    }
}

/// Replaces what lies between the API markers in `doc` with `body`.
#[cfg(test)]
fn replace_section(doc: &str, body: &str) -> anyhow::Result<String> {
    super::format::replace_between(doc, START_MARKER, END_MARKER, body)
}

/// The nearest-rank quantile `q` of `values` (0 when empty).
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
        .get(super::report::rank(sorted.len(), q))
        .copied()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(rps: f64, p99_ms: u64) -> Load {
        Load {
            requests_per_sec: rps,
            p50: Duration::from_millis(1),
            p99: Duration::from_millis(p99_ms),
        }
    }

    fn row<'a>(table: &'a str, starts: &str) -> &'a str {
        table
            .lines()
            .find(|line| line.starts_with(&format!("| {starts}")))
            .unwrap_or_else(|| panic!("no row starting {starts:?} in\n{table}"))
    }

    fn sample() -> Results {
        Results {
            object_bytes: 1_042,
            get: Some(GetResults {
                rounds: vec![
                    (GetTarget::Kapi, load(10_000.0, 4)),
                    (GetTarget::KapiCache, load(20_000.0, 3)),
                    (GetTarget::Bare, load(40_000.0, 2)),
                    (GetTarget::Kapi, load(12_000.0, 6)),
                    (GetTarget::KapiCache, load(22_000.0, 3)),
                    (GetTarget::Bare, load(40_000.0, 3)),
                ],
                setup: "built-in, 64 connections".to_owned(),
            }),
            list: vec![
                ListResult {
                    kind: ListKind::Rv0,
                    bytes: 10_500_000,
                    millis: vec![50.0, 30.0, 70.0, 40.0],
                },
                ListResult {
                    kind: ListKind::Consistent,
                    bytes: 10_500_000,
                    millis: vec![100.0],
                },
            ],
            startup: Some(StartupTimes {
                kind: "startup".to_owned(),
                ready_ms: vec![25.0, 15.0, 18.0],
                first_request_ms: vec![27.0, 17.0, 20.0],
                stop_ms: vec![1.0, 2.0, 3.0],
            }),
        }
    }

    #[test]
    fn table_judges_each_target() {
        let table = sample().table();
        let check = |starts: &str, expected: &str| {
            let line = row(&table, starts);
            assert!(line.contains(expected), "{line:?} lacks {expected:?}");
        };
        check(
            "GET one ConfigMap (1,042 bytes of JSON) over TLS, requests/s (mean of rounds): kapi",
            "| 11,000 | – | – |",
        );
        check("GET one ConfigMap (1,042 bytes", "| 11,000 |");
        check(
            "GET latency p50 / p99 (worst round): kapi",
            "| 1.00 ms / 6.00 ms |",
        );
        check("GET requests/s ratio", "| 0.28 | ≥ 0.5 | **no** |");
        // Median of 30, 40, 50, 70 (nearest rank) is 40 ms: 10.5 MB / 0.04 s.
        check(
            "LIST 10,000 ConfigMaps (10.5 MB of JSON) from the watch cache, resourceVersion=0: time",
            "| 40.0 ms (70.0 ms) |",
        );
        check(
            "LIST 10,000 ConfigMaps (10.5 MB of JSON) from the watch cache, resourceVersion=0: response",
            "| 262 MB/s | ≥ 200 MB/s | yes |",
        );
        check(
            "LIST 10,000 ConfigMaps (10.5 MB of JSON) from the watch cache, consistent (no resourceVersion): response",
            "| 105 MB/s | – | – |",
        );
        check(
            "`TestServer::start()` to ready",
            "| 18.0 ms (25.0 ms) | median ≤ 20 ms | yes |",
        );
        check(
            "`TestServer::start()` to the first GET",
            "| 20.0 ms (27.0 ms) |",
        );
        assert!(table.contains("\nGET load: built-in, 64 connections.\n"));
    }

    #[test]
    fn missing_parts_leave_no_rows() {
        let table = Results::default().table();
        assert_eq!(table.lines().count(), 2, "{table}");
        let slow = Results {
            startup: Some(StartupTimes {
                kind: "startup".to_owned(),
                ready_ms: vec![21.0],
                first_request_ms: vec![22.0],
                stop_ms: vec![1.0],
            }),
            ..Results::default()
        };
        assert!(row(&slow.table(), "`TestServer::start()` to ready").ends_with("| **no** |"));
    }

    #[test]
    fn reads_the_startup_line() {
        let line = r#"{"kind":"startup","runs":2,"ready_ms":[12.5,13.0],"first_request_ms":[14.0,15.0],"stop_ms":[0.5,0.7]}"#;
        let times: StartupTimes = serde_json::from_str(line).unwrap();
        assert_eq!(times.ready_ms, vec![12.5, 13.0]);
        assert_eq!(times.stop_ms, vec![0.5, 0.7]);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        for (values, q, expected) in [
            (vec![3.0, 1.0, 2.0], 0.5, 2.0),
            (vec![4.0, 1.0, 3.0, 2.0], 0.5, 2.0),
            (
                vec![10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0],
                0.9,
                9.0,
            ),
            (vec![], 0.5, 0.0),
        ] {
            assert_eq!(quantile(&values, q), expected, "{values:?} q {q}");
        }
    }

    #[test]
    fn replaces_only_the_api_section() {
        let doc = "# B\n<!-- bench:storage:start -->\nS\n<!-- bench:storage:end -->\n\
                   ## API\n<!-- bench:api:start -->\nold\n<!-- bench:api:end -->\ntail\n";
        let updated = replace_section(doc, "new table\n").unwrap();
        assert_eq!(
            updated,
            "# B\n<!-- bench:storage:start -->\nS\n<!-- bench:storage:end -->\n\
             ## API\n<!-- bench:api:start -->\nnew table\n<!-- bench:api:end -->\ntail\n"
        );
        assert_eq!(replace_section(&updated, "new table").unwrap(), updated);
        assert!(replace_section("no markers", "x").is_err());
        assert!(replace_section("<!-- bench:api:start --> only", "x").is_err());
    }

    #[test]
    fn bare_server_answers_the_given_bytes_and_stops() {
        let body = Bytes::from_static(br#"{"kind":"ConfigMap"}"#);
        let bare =
            BareServer::start(body.clone(), HeaderValue::from_static("application/json")).unwrap();
        let port = bare.port;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = client::insecure_client_config().unwrap();
        rt.block_on(bare.wait_ready(&config)).unwrap();
        let answer = rt
            .block_on(async {
                let mut conn = connect(port, &config).await?;
                send(&mut conn, port, Method::GET, "/anything", None).await
            })
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, body);
        assert_eq!(
            answer.content_type,
            Some(HeaderValue::from_static("application/json"))
        );
        drop(bare);
        // The listener is closed once the server is dropped.
        assert!(std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    }
}
