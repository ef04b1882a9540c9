//! End-to-end lifecycle tests of `GenericApiServer` over real TLS sockets:
//! health endpoints, post-start hooks, delegation, and the termination
//! sequence (readyz red during the shutdown delay, draining, hooks).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::StatusCode;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use kapi_config::SecureServingOptions;
use kapi_core::{Body, Response, box_handler};
use kapi_server::{Config, GenericApiServer, PreparedGenericApiServer, new_empty_delegate};
use kapi_serving::LoopbackClientConfig;
use rustls_pki_types::ServerName;
use tokio_util::sync::CancellationToken;

/// A server bound to 127.0.0.1 on a random port, with its loopback config.
struct TestServer {
    _dir: tempfile::TempDir,
    config: Config,
    loopback: LoopbackClientConfig,
}

async fn configure() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut serving = SecureServingOptions::default();
    serving.bind_address = IpAddr::V4(Ipv4Addr::LOCALHOST);
    serving.secure_port = 0;
    let setup = serving.apply(dir.path(), None).await.unwrap();
    let loopback = setup.loopback.clone();
    let mut config = Config::default();
    config.apply_serving(setup);
    TestServer {
        _dir: dir,
        config,
        loopback,
    }
}

/// GET over a fresh TLS connection to the loopback address, trusting the
/// loopback certificate by SNI `apiserver-loopback-client`.
async fn get(loopback: &LoopbackClientConfig, path: &str) -> std::io::Result<(StatusCode, String)> {
    let address = loopback.host.trim_start_matches("https://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&address).await?;
    let connector = tokio_rustls::TlsConnector::from(loopback.rustls_client_config().unwrap());
    let name = ServerName::try_from(loopback.server_name.clone()).unwrap();
    let tls = connector.connect(name, tcp).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header("host", "apiserver-loopback-client")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn text(body: &'static str) -> kapi_core::BoxHandler {
    box_handler(tower::service_fn(move |_req| async move {
        Ok::<_, std::convert::Infallible>(Response::new(Body::from(body)))
    }))
}

fn spawn(
    server: PreparedGenericApiServer,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<kapi_server::Result<()>> {
    tokio::spawn(server.run(stop))
}

#[tokio::test]
async fn post_start_hooks_run_with_loopback_and_their_checks_turn_green() {
    let test = configure().await;
    let loopback = test.loopback.clone();
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let hook_saw_healthz = Arc::new(AtomicBool::new(false));
    let saw = hook_saw_healthz.clone();
    server
        .add_post_start_hook("wait-for-release", move |ctx| async move {
            // The hook reaches the server through its loopback config.
            let loopback = ctx.loopback_client_config.expect("loopback config");
            let (status, body) = get(&loopback, "/healthz/ping").await?;
            saw.store(status == StatusCode::OK && body == "ok", Ordering::SeqCst);
            let _ = release_rx.await;
            Ok(())
        })
        .unwrap();
    assert!(
        server
            .add_post_start_hook("wait-for-release", |_| async { Ok(()) })
            .is_err()
    );

    let stop = CancellationToken::new();
    let running = spawn(server.prepare_run(), stop.clone());

    wait_until("the hook to call the server", || async {
        hook_saw_healthz.load(Ordering::SeqCst)
    })
    .await;
    let (status, body) = get(&loopback, "/readyz?verbose").await.unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        body.contains("[-]poststarthook/wait-for-release failed: reason withheld\n"),
        "{body}"
    );
    let (status, _) = get(&loopback, "/healthz/poststarthook/wait-for-release")
        .await
        .unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    release_tx.send(()).unwrap();
    wait_until("readyz to pass", || async {
        matches!(get(&loopback, "/readyz").await, Ok((StatusCode::OK, _)))
    })
    .await;
    let (_, body) = get(&loopback, "/readyz?verbose").await.unwrap();
    assert!(
        body.contains("[+]poststarthook/wait-for-release ok\n"),
        "{body}"
    );
    assert!(body.contains("[+]shutdown ok\n"), "{body}");
    assert!(body.ends_with("readyz check passed\n"), "{body}");
    // Each check is listed once on every path.
    for path in ["/readyz?verbose", "/livez?verbose", "/healthz?verbose"] {
        let (_, body) = get(&loopback, path).await.unwrap();
        assert_eq!(
            body.matches("poststarthook/wait-for-release ok").count(),
            1,
            "{path}: {body}"
        );
    }

    stop.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn readyz_fails_during_the_shutdown_delay_while_requests_are_served() {
    let mut test = configure().await;
    test.config.shutdown_delay_duration = Duration::from_millis(1500);
    let loopback = test.loopback.clone();
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    let prepared = server.prepare_run();
    let signals = prepared.lifecycle_signals().clone();
    let stop = CancellationToken::new();
    let running = spawn(prepared, stop.clone());
    wait_until("readyz", || async {
        matches!(get(&loopback, "/readyz").await, Ok((StatusCode::OK, _)))
    })
    .await;
    assert!(signals.has_been_ready.is_signaled());

    let started = Instant::now();
    stop.cancel();
    signals.shutdown_initiated.signaled().await;
    let (status, body) = get(&loopback, "/readyz?verbose").await.unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("[-]shutdown failed: reason withheld\n"),
        "{body}"
    );
    assert!(body.ends_with("readyz check failed\n"), "{body}");
    // Liveness and other requests are still served during the delay.
    assert_eq!(
        get(&loopback, "/healthz").await.unwrap(),
        (StatusCode::OK, "ok".to_owned())
    );
    assert_eq!(get(&loopback, "/livez").await.unwrap().0, StatusCode::OK);
    assert!(!signals.not_accepting_new_requests.is_signaled());

    running.await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(signals.after_shutdown_delay_duration.is_signaled());
    assert!(signals.in_flight_requests_drained.is_signaled());
    // The listener is closed now.
    assert!(get(&loopback, "/healthz").await.is_err());
}

#[tokio::test]
async fn a_slow_in_flight_request_completes_during_drain() {
    let test = configure().await;
    let loopback = test.loopback.clone();
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    let (entered_tx, entered_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let entered_rx = Arc::new(tokio::sync::Mutex::new(entered_rx));
    server.mux().handle(
        "/slow",
        box_handler(tower::service_fn(move |_req| {
            let entered_tx = entered_tx.clone();
            async move {
                let _ = entered_tx.send(());
                tokio::time::sleep(Duration::from_millis(700)).await;
                Ok::<_, std::convert::Infallible>(Response::new(Body::from("finally")))
            }
        })),
    );
    let pre_shutdown_ran = Arc::new(AtomicBool::new(false));
    let ran = pre_shutdown_ran.clone();
    server
        .add_pre_shutdown_hook("record", move || async move {
            ran.store(true, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
    let stop = CancellationToken::new();
    let running = spawn(server.prepare_run(), stop.clone());
    wait_until("readyz", || async {
        matches!(get(&loopback, "/readyz").await, Ok((StatusCode::OK, _)))
    })
    .await;

    let slow = tokio::spawn({
        let loopback = loopback.clone();
        async move { get(&loopback, "/slow").await }
    });
    entered_rx.lock().await.recv().await.unwrap();
    stop.cancel();
    let (status, body) = slow.await.unwrap().unwrap();
    assert_eq!((status, body.as_str()), (StatusCode::OK, "finally"));
    running.await.unwrap().unwrap();
    assert!(pre_shutdown_ran.load(Ordering::SeqCst));
}

#[tokio::test]
async fn a_failing_post_start_hook_stops_the_server_with_its_error() {
    let test = configure().await;
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    server
        .add_post_start_hook("broken", |_| async { Err("cannot start".into()) })
        .unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        server.prepare_run().run(CancellationToken::new()),
    )
    .await
    .expect("run returns after a hook failure");
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), "post-start hook \"broken\" failed");
}

#[tokio::test]
async fn disabled_post_start_hooks_are_not_run_and_have_no_check() {
    let mut test = configure().await;
    test.config
        .disabled_post_start_hooks
        .insert("off".to_owned());
    let loopback = test.loopback.clone();
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    server
        .add_post_start_hook("off", |_| async { Err("must not run".into()) })
        .unwrap();
    let stop = CancellationToken::new();
    let running = spawn(server.prepare_run(), stop.clone());
    wait_until("readyz", || async {
        matches!(get(&loopback, "/readyz").await, Ok((StatusCode::OK, _)))
    })
    .await;
    let (_, body) = get(&loopback, "/readyz?verbose").await.unwrap();
    assert!(!body.contains("poststarthook/off"), "{body}");
    stop.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_delegate_path_is_reachable_through_the_head_and_the_index_lists_both() {
    // The delegate serves nothing itself; its mux is reached through the head.
    let delegate: GenericApiServer = Config::default()
        .complete()
        .unwrap()
        .new("delegate", new_empty_delegate())
        .unwrap();
    delegate
        .mux()
        .handle("/delegate-only", text("from the delegate"));
    delegate.add_healthz_checks([kapi_healthz::named_check("delegate-check", |_| async {
        Ok(())
    })]);
    delegate
        .add_post_start_hook("delegate-hook", |_| async { Ok(()) })
        .unwrap();

    let test = configure().await;
    let loopback = test.loopback.clone();
    let head = test
        .config
        .complete()
        .unwrap()
        .new("head", delegate)
        .unwrap();
    head.mux().handle("/head-only", text("from the head"));
    let stop = CancellationToken::new();
    let running = spawn(head.prepare_run(), stop.clone());
    wait_until("readyz", || async {
        matches!(get(&loopback, "/readyz").await, Ok((StatusCode::OK, _)))
    })
    .await;

    assert_eq!(
        get(&loopback, "/delegate-only").await.unwrap(),
        (StatusCode::OK, "from the delegate".to_owned())
    );
    assert_eq!(
        get(&loopback, "/head-only").await.unwrap(),
        (StatusCode::OK, "from the head".to_owned())
    );

    let (status, body) = get(&loopback, "/").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let index: serde_json::Value = serde_json::from_str(&body).unwrap();
    let paths: Vec<&str> = index["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for expected in [
        "/delegate-only",
        "/head-only",
        "/healthz",
        "/livez",
        "/readyz",
        "/version",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);

    // The delegate's checks and hooks are merged into the head.
    let (_, body) = get(&loopback, "/readyz?verbose").await.unwrap();
    assert!(body.contains("[+]delegate-check ok\n"), "{body}");
    assert!(
        body.contains("[+]poststarthook/delegate-hook ok\n"),
        "{body}"
    );

    // The end of the chain answers unknown paths with 404 and the index.
    let (status, body) = get(&loopback, "/no/such/path").await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("\"/delegate-only\""), "{body}");

    stop.cancel();
    running.await.unwrap().unwrap();
}

#[tokio::test]
async fn version_answers_kubernetes_version_info() {
    let test = configure().await;
    let loopback = test.loopback.clone();
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    let stop = CancellationToken::new();
    let running = spawn(server.prepare_run(), stop.clone());
    wait_until("readyz", || async {
        matches!(get(&loopback, "/readyz").await, Ok((StatusCode::OK, _)))
    })
    .await;
    let (status, body) = get(&loopback, "/version").await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["major"], "1");
    assert!(
        info["gitVersion"].as_str().unwrap().starts_with("v1."),
        "{body}"
    );
    stop.cancel();
    running.await.unwrap().unwrap();
}

/// A backend that cannot be reached: every call fails.
#[derive(Debug)]
struct Unreachable;

#[async_trait::async_trait]
impl kapi_storage::Backend for Unreachable {
    fn name(&self) -> &'static str {
        "etcd3"
    }
    async fn range(
        &self,
        _: kapi_storage::RangeRequest,
    ) -> kapi_storage::Result<kapi_storage::RangeResponse> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn create(&self, _: &str, _: Bytes) -> kapi_storage::Result<kapi_storage::TxnOutcome> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn update(
        &self,
        _: &str,
        _: Bytes,
        _: i64,
    ) -> kapi_storage::Result<kapi_storage::TxnOutcome> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn delete(&self, _: &str, _: i64) -> kapi_storage::Result<kapi_storage::TxnOutcome> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn current_revision(&self) -> kapi_storage::Result<i64> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn watch(
        &self,
        _: &str,
        _: i64,
        _: bool,
    ) -> kapi_storage::Result<kapi_storage::WatchStream> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn request_progress(&self) -> kapi_storage::Result<()> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn compact(&self, _: i64) -> kapi_storage::Result<()> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn compacted_revision(&self) -> kapi_storage::Result<i64> {
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
    async fn check_health(&self) -> kapi_storage::Result<()> {
        // Slower than the probe's timeout: the check must not hang readyz.
        tokio::time::sleep(Duration::from_secs(30)).await;
        Err(kapi_storage::Error::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn storage_health_joins_the_health_endpoints() {
    // A healthy backend: its checks pass.
    let mut test = configure().await;
    test.config.storage = Some(Arc::new(kapi_storage::memory::MemoryBackend::new()));
    let loopback = test.loopback.clone();
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    let stop = CancellationToken::new();
    let running = spawn(server.prepare_run(), stop.clone());
    wait_until("readyz", || async {
        matches!(get(&loopback, "/readyz").await, Ok((StatusCode::OK, _)))
    })
    .await;
    let (_, body) = get(&loopback, "/readyz?verbose").await.unwrap();
    assert!(body.contains("[+]memory ok\n"), "{body}");
    assert!(body.contains("[+]memory-readiness ok\n"), "{body}");
    let (_, body) = get(&loopback, "/livez?verbose").await.unwrap();
    assert!(
        body.contains("[+]memory ok\n") && !body.contains("memory-readiness"),
        "{body}"
    );
    stop.cancel();
    running.await.unwrap().unwrap();

    // An unreachable etcd: `etcd` fails within the probe timeout.
    let mut test = configure().await;
    test.config.storage = Some(Arc::new(Unreachable));
    test.config.storage_healthcheck_timeout = Duration::from_millis(200);
    let loopback = test.loopback.clone();
    let server = test
        .config
        .complete()
        .unwrap()
        .new("test", new_empty_delegate())
        .unwrap();
    let stop = CancellationToken::new();
    let running = spawn(server.prepare_run(), stop.clone());
    let started = Instant::now();
    let (status, body) = loop {
        if let Ok(answer) = get(&loopback, "/readyz?verbose").await {
            break answer;
        }
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the probe is bounded"
    );
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("[-]etcd failed: reason withheld\n"), "{body}");
    assert!(
        body.contains("[-]etcd-readiness failed: reason withheld\n"),
        "{body}"
    );
    let (status, _) = get(&loopback, "/healthz/etcd").await.unwrap();
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    stop.cancel();
    running.await.unwrap().unwrap();
}
