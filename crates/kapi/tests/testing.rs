//! `kapi::testing::TestServer`: several servers in one test binary, each
//! driven through its `kube::Client` and through kubectl.

use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::ConfigMap;
use kapi::testing::TestServer;
use kube::api::{Api, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};

const TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_in_parallel_serve_configmaps_watches_and_kubectl() {
    let (a, b, c) = tokio::try_join!(
        TestServer::start(),
        TestServer::start(),
        TestServer::start()
    )
    .expect("start the test servers");
    let servers = [a, b, c];
    for (i, server) in servers.iter().enumerate() {
        println!(
            "test server {i} at {} ready in {:?}",
            server.address(),
            server.startup_time()
        );
    }
    let addresses: std::collections::HashSet<_> = servers.iter().map(|s| s.address()).collect();
    assert_eq!(addresses.len(), 3, "each server has a port of its own");

    let runs = servers
        .iter()
        .enumerate()
        .map(|(i, server)| configmap_round_trip(server, i));
    tokio::time::timeout(TIMEOUT, futures::future::join_all(runs))
        .await
        .expect("round trips within the timeout");

    for server in &servers {
        kubectl_get_namespaces(server).await;
    }
    for server in servers {
        server.shutdown().await.expect("clean shutdown");
    }
}

/// Creates, lists, watches and deletes a ConfigMap; other servers' objects
/// must not show up.
async fn configmap_round_trip(server: &TestServer, index: usize) {
    let api: Api<ConfigMap> = Api::namespaced(server.client(), "default");
    let name = format!("cm-{index}");
    let mut configmap = ConfigMap::default();
    configmap.metadata.name = Some(name.clone());
    configmap.data = Some([("server".to_owned(), index.to_string())].into());
    let created = api
        .create(&PostParams::default(), &configmap)
        .await
        .expect("create");
    let revision = created.metadata.resource_version.clone().expect("rv");

    let listed = api.list(&ListParams::default()).await.expect("list");
    let names: Vec<_> = listed
        .items
        .iter()
        .filter_map(|cm| cm.metadata.name.clone())
        .collect();
    assert_eq!(names, [name.as_str()], "server {index} holds only its own");

    let mut events = api
        .watch(&WatchParams::default(), &revision)
        .await
        .expect("watch")
        .boxed();
    api.delete(&name, &DeleteParams::default())
        .await
        .expect("delete");
    match events.try_next().await.expect("watch event") {
        Some(WatchEvent::Deleted(deleted)) => {
            assert_eq!(deleted.metadata.name.as_deref(), Some(name.as_str()));
            assert_eq!(deleted.data, configmap.data);
        }
        other => panic!("server {index}: expected DELETED, got {other:?}"),
    }
    assert!(
        api.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
}

/// `kubectl get ns` with the server's kubeconfig; skipped outside CI when
/// kubectl is missing.
async fn kubectl_get_namespaces(server: &TestServer) {
    let output = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(["get", "ns", "-o", "name"])
        .output();
    let output = match tokio::time::timeout(TIMEOUT, output)
        .await
        .expect("kubectl in time")
    {
        Ok(output) => output,
        Err(err)
            if err.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() =>
        {
            eprintln!("kubectl not found; skipping its part");
            return;
        }
        Err(err) => panic!("run kubectl: {err}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.trim(), "namespace/default");
}
