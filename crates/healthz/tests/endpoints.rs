//! The health endpoints driven through a `PathRecorderMux`: exact bodies,
//! status codes and headers as kube-apiserver writes them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use http::request::Parts;
use http::{StatusCode, header};
use http_body_util::BodyExt;
use kapi_core::Body;
use kapi_healthz::{
    CheckError, HealthChecker, PingHealthz, install_handler, install_livez_handler,
    install_path_handler, install_readyz_handler_with_healthy_func, named_check,
    named_grouped_check,
};
use kapi_mux::PathRecorderMux;
use tower::ServiceExt;

/// What a response looked like: status, body and whether it carried
/// `X-Content-Type-Options: nosniff`.
#[derive(Debug, PartialEq)]
struct Seen {
    status: StatusCode,
    body: String,
    nosniff: bool,
}

async fn get(mux: &PathRecorderMux, uri: &str) -> Seen {
    let request = http::Request::get(uri).body(Body::empty()).unwrap();
    let response = mux.clone().oneshot(request).await.unwrap();
    let status = response.status();
    if status != StatusCode::NOT_FOUND {
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8",
            "{uri}"
        );
    }
    let nosniff = response.headers().get(header::X_CONTENT_TYPE_OPTIONS)
        == Some(&http::HeaderValue::from_static("nosniff"));
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Seen {
        status,
        body: String::from_utf8(body.to_vec()).unwrap(),
        nosniff,
    }
}

/// Serves `uri` and compares with the expected status and exact body.
async fn check(mux: &PathRecorderMux, uri: &str, status: StatusCode, body: &str, nosniff: bool) {
    let expected = Seen {
        status,
        body: body.to_owned(),
        nosniff,
    };
    assert_eq!(get(mux, uri).await, expected, "GET {uri}");
}

fn failing(name: &str, reason: &'static str) -> Arc<dyn HealthChecker> {
    named_check(name, move |_| async move {
        Err::<(), CheckError>(reason.into())
    })
}

fn passing(name: &str) -> Arc<dyn HealthChecker> {
    named_check(name, |_| async { Ok(()) })
}

const OK: StatusCode = StatusCode::OK;
const FAIL: StatusCode = StatusCode::INTERNAL_SERVER_ERROR;

#[tokio::test]
async fn passing_checks() {
    let mux = PathRecorderMux::new("test");
    install_handler(
        &mux,
        vec![
            Arc::new(PingHealthz),
            named_grouped_check("etcd", "etcd", |_| async { Ok(()) }),
            named_grouped_check("etcd-override-0", "etcd", |_| async { Ok(()) }),
            passing("poststarthook/start-informers"),
        ],
    );

    let all =
        "[+]ping ok\n[+]etcd ok\n[+]etcd-override-0 ok\n[+]poststarthook/start-informers ok\n";
    let cases: &[(&str, &str)] = &[
        ("/healthz", "ok"),
        ("/healthz?exclude=nope", "ok"),
        ("/healthz?verbose", &format!("{all}healthz check passed\n")),
        (
            "/healthz?verbose=false",
            &format!("{all}healthz check passed\n"),
        ),
        (
            "/healthz?verbose&exclude=ping",
            "[+]ping excluded: ok\n[+]etcd ok\n[+]etcd-override-0 ok\n\
             [+]poststarthook/start-informers ok\nhealthz check passed\n",
        ),
        (
            "/healthz?verbose&exclude=etcd",
            "[+]ping ok\n[+]etcd excluded: ok\n[+]etcd-override-0 excluded with etcd: ok\n\
             [+]poststarthook/start-informers ok\nhealthz check passed\n",
        ),
        (
            "/healthz?verbose&exclude=poststarthook%2Fstart-informers&exclude=log",
            "[+]ping ok\n[+]etcd ok\n[+]etcd-override-0 ok\n\
             [+]poststarthook/start-informers excluded: ok\n\
             warn: some health checks cannot be excluded: no matches for \"log\"\n\
             healthz check passed\n",
        ),
        (
            "/healthz?verbose&exclude=zz&exclude=a&exclude=zz&exclude=say+%22hi%22",
            &format!(
                "{all}warn: some health checks cannot be excluded: no matches for \
                 \"a\",\"say \\\"hi\\\"\",\"zz\"\nhealthz check passed\n"
            ),
        ),
        ("/healthz/ping", "ok"),
        ("/healthz/etcd-override-0", "ok"),
        ("/healthz/poststarthook/start-informers", "ok"),
        ("/healthz/poststarthook%2Fstart-informers", "ok"),
    ];
    for (uri, body) in cases {
        // The per-check sub-paths answer like Go's bare `fmt.Fprint`: no nosniff.
        let nosniff = !uri.starts_with("/healthz/");
        check(&mux, uri, OK, body, nosniff).await;
    }
    assert_eq!(
        get(&mux, "/healthz/log").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&mux, "/healthz/").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn failing_checks() {
    let mux = PathRecorderMux::new("test");
    install_livez_handler(
        &mux,
        vec![
            Arc::new(PingHealthz),
            failing("etcd", "context deadline exceeded"),
            failing("poststarthook/x", "not finished"),
        ],
    );

    let cases: &[(&str, StatusCode, &str)] = &[
        (
            "/livez",
            FAIL,
            "[+]ping ok\n[-]etcd failed: reason withheld\n\
             [-]poststarthook/x failed: reason withheld\nlivez check failed\n",
        ),
        (
            "/livez?verbose",
            FAIL,
            "[+]ping ok\n[-]etcd failed: reason withheld\n\
             [-]poststarthook/x failed: reason withheld\nlivez check failed\n",
        ),
        (
            "/livez?exclude=etcd&exclude=nope",
            FAIL,
            "[+]ping ok\n[+]etcd excluded: ok\n[-]poststarthook/x failed: reason withheld\n\
             warn: some health checks cannot be excluded: no matches for \"nope\"\n\
             livez check failed\n",
        ),
        ("/livez?exclude=etcd&exclude=poststarthook/x", OK, "ok"),
        (
            "/livez?exclude=etcd&exclude=poststarthook/x&verbose",
            OK,
            "[+]ping ok\n[+]etcd excluded: ok\n[+]poststarthook/x excluded: ok\nlivez check passed\n",
        ),
        ("/livez/ping", OK, "ok"),
        (
            "/livez/etcd",
            FAIL,
            "internal server error: context deadline exceeded\n",
        ),
        (
            "/livez/poststarthook/x",
            FAIL,
            "internal server error: not finished\n",
        ),
    ];
    for (uri, status, body) in cases {
        let nosniff = *status != OK || !uri.starts_with("/livez/");
        check(&mux, uri, *status, body, nosniff).await;
    }
}

#[tokio::test]
async fn no_checks_installs_ping_and_root_word_is_the_first_segment() {
    let mux = PathRecorderMux::new("test");
    install_path_handler(&mux, "/custom/deep", Vec::new());
    assert_eq!(mux.listed_paths(), ["/custom/deep", "/custom/deep/ping"]);
    check(
        &mux,
        "/custom/deep?verbose",
        OK,
        "[+]ping ok\ncustom check passed\n",
        true,
    )
    .await;
    check(&mux, "/custom/deep/ping", OK, "ok", false).await;
}

#[tokio::test]
async fn first_time_healthy_fires_once() {
    let mux = PathRecorderMux::new("test");
    let healthy = Arc::new(AtomicBool::new(false));
    let fired = Arc::new(AtomicUsize::new(0));
    let toggle = {
        let healthy = Arc::clone(&healthy);
        named_check("toggle", move |_| {
            let healthy = healthy.load(Ordering::SeqCst);
            async move {
                if healthy {
                    Ok(())
                } else {
                    Err::<(), CheckError>("not yet".into())
                }
            }
        })
    };
    install_readyz_handler_with_healthy_func(&mux, vec![toggle], {
        let fired = Arc::clone(&fired);
        move || {
            fired.fetch_add(1, Ordering::SeqCst);
        }
    });

    let steps = [
        (false, FAIL, 0),
        (true, OK, 1),
        (true, OK, 1),
        (false, FAIL, 1),
        (true, OK, 1),
    ];
    for (is_healthy, status, fired_count) in steps {
        healthy.store(is_healthy, Ordering::SeqCst);
        assert_eq!(get(&mux, "/readyz").await.status, status);
        assert_eq!(fired.load(Ordering::SeqCst), fired_count);
    }
    // A sub-path passing is not the root passing.
    let mux = PathRecorderMux::new("test");
    let fired = Arc::new(AtomicUsize::new(0));
    install_readyz_handler_with_healthy_func(&mux, vec![passing("x"), failing("y", "no")], {
        let fired = Arc::clone(&fired);
        move || {
            fired.fetch_add(1, Ordering::SeqCst);
        }
    });
    assert_eq!(get(&mux, "/readyz/x").await.status, OK);
    assert_eq!(get(&mux, "/readyz").await.status, FAIL);
    assert_eq!(fired.load(Ordering::SeqCst), 0);
}

/// A check that looks at the request it is given.
#[derive(Debug)]
struct NeedsHeader;

#[async_trait]
impl HealthChecker for NeedsHeader {
    fn name(&self) -> &str {
        "needs-header"
    }

    async fn check(&self, request: &Parts) -> Result<(), CheckError> {
        match request.headers.get("x-probe") {
            Some(_) => Ok(()),
            None => Err("missing x-probe".into()),
        }
    }
}

#[tokio::test]
async fn checks_see_the_request() {
    let closure_check = named_check("closure-header", |request: &Parts| {
        let has_probe = request.headers.contains_key("x-probe");
        async move {
            if has_probe {
                Ok(())
            } else {
                Err::<(), CheckError>("missing x-probe".into())
            }
        }
    });
    let mux = PathRecorderMux::new("test");
    install_handler(&mux, vec![Arc::new(NeedsHeader), closure_check]);
    for name in ["needs-header", "closure-header"] {
        let uri = format!("/healthz/{name}");
        check(
            &mux,
            &uri,
            FAIL,
            "internal server error: missing x-probe\n",
            true,
        )
        .await;
    }
    for uri in [
        "/healthz",
        "/healthz/needs-header",
        "/healthz/closure-header",
    ] {
        let request = http::Request::get(uri)
            .header("x-probe", "1")
            .body(Body::empty())
            .unwrap();
        let response = mux.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), OK, "{uri}");
    }
}

#[tokio::test]
async fn checks_run_in_registration_order() {
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = |name: &'static str| {
        let order = Arc::clone(&order);
        named_check(name, move |_| {
            order.lock().unwrap().push(name);
            async { Ok(()) }
        })
    };
    let mux = PathRecorderMux::new("test");
    install_handler(&mux, vec![recorder("c"), recorder("a"), recorder("b")]);
    check(&mux, "/healthz", OK, "ok", true).await;
    assert_eq!(*order.lock().unwrap(), ["c", "a", "b"]);
}
