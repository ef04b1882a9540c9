//! End-to-end tests of server-side `Table` output driven with kubectl:
//! `kubectl get` asks for `as=Table` and prints the columns kapi computes
//! (`NAME DATA AGE` for configmaps, `STATUS` for namespaces, `TYPE` for
//! secrets), including with `-o wide`.
//!
//! Configmaps are created from a client-side rendered file with
//! `--validate=false`, as in `e2e_resources.rs` (typed creates send
//! protobuf, and there is no `/openapi/v3` yet).
//!
//! kubectl is on the PATH of every machine of this kind; without it these
//! tests print why and pass, except under `CI=true`, where they fail.

mod support;
use support::{Kapi, kubectl};

#[test]
fn kubectl_get_prints_server_side_columns() {
    let Some(kubectl) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let kapi = Kapi::start(&kubectl, dir.path(), &[]);
    kapi.create_configmap(work.path(), "two", "a=b");

    let rows = |args: &[&str]| -> Vec<Vec<String>> {
        kapi.ok(args)
            .lines()
            .map(|line| line.split_whitespace().map(str::to_owned).collect())
            .collect()
    };
    let find = |table: &[Vec<String>], name: &str| -> Vec<String> {
        table
            .iter()
            .find(|row| row.first().map(String::as_str) == Some(name))
            .cloned()
            .unwrap_or_else(|| panic!("no row {name} in {table:?}"))
    };

    for extra in [&[][..], &["-o", "wide"][..]] {
        let mut args = vec!["get", "configmaps", "-n", "default"];
        args.extend_from_slice(extra);
        let table = rows(&args);
        assert_eq!(table[0], ["NAME", "DATA", "AGE"], "{extra:?}");
        let row = find(&table, "two");
        assert_eq!(row[1], "1", "{row:?}");
        assert_eq!(row.len(), 3, "{row:?}");

        let mut args = vec!["get", "ns"];
        args.extend_from_slice(extra);
        let table = rows(&args);
        assert_eq!(table[0], ["NAME", "STATUS", "AGE"], "{extra:?}");
        assert_eq!(find(&table, "default")[1], "Active");
    }

    let manifest = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","namespace":"default"},"type":"Opaque","data":{"x":"eQ==","z":"eQ=="}}"#;
    let file = work.path().join("s.json");
    std::fs::write(&file, manifest).unwrap();
    kapi.ok(&["create", "--validate=false", "-f", file.to_str().unwrap()]);
    let table = rows(&["get", "secrets", "-n", "default"]);
    assert_eq!(table[0], ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(find(&table, "s")[1..3], ["Opaque", "2"]);
}
