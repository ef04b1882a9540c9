//! The kubectl end-to-end suite: unmodified kubectl against `kapi serve`,
//! each test on a server of its own, asserting what kube-apiserver makes
//! kubectl print, down to the error texts (NotFound, AlreadyExists,
//! Invalid, Conflict, strict decoding).
//!
//! Covered: `create -f` of YAML manifests with kubectl's default (strict,
//! server-side) validation, which kubectl enables after reading
//! `/openapi/v3`; client-side `apply` (created, unchanged, configured, the
//! last-applied annotation, pruning a field dropped from the manifest);
//! `apply --server-side` with `managedFields`, conflicts between field
//! managers and `--force-conflicts`; `get -o yaml|json|wide|name|jsonpath`,
//! `get -w` (the server streams Table rows), `label`, `annotate`, `patch`
//! (json, merge, strategic), `replace`, `delete`; `api-resources`,
//! `api-versions`, `explain`; a CustomResourceDefinition (the CronTab of
//! the Kubernetes docs) through its whole life: established, printer
//! columns, schema validation, defaulting, strict decoding, the scale and
//! status subresources, merge patches, and deletion taking its instances
//! along; `--chunk-size` pagination.
//!
//! kubectl is on the PATH of every machine of this kind; without it these
//! tests print why and pass, except under `CI=true`, where they fail.

mod support;
use support::{Kapi, kubectl};

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One `kapi serve` with its data directory, a work directory for
/// manifests, and a kubectl discovery cache of its own (`--cache-dir`), so
/// that no test sees what another server (or an earlier run on the same
/// port) cached.
#[derive(Debug)]
struct Session {
    kapi: Kapi,
    work: tempfile::TempDir,
    _data: tempfile::TempDir,
}

impl Session {
    fn start(kubectl: &Path) -> Self {
        let data = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let kapi = Kapi::start(kubectl, data.path(), &[]);
        Self {
            kapi,
            work,
            _data: data,
        }
    }

    fn cache_dir(&self) -> String {
        self.work.path().join("cache").to_str().unwrap().to_owned()
    }

    /// Runs kubectl (with this session's cache) against the server.
    fn run(&self, args: &[&str]) -> Output {
        let cache = self.cache_dir();
        let mut all = vec!["--cache-dir", &cache];
        all.extend_from_slice(args);
        self.kapi.run(&all)
    }

    /// The stdout of a kubectl run that must succeed.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The stderr of a kubectl run that must fail with exit code 1.
    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "kubectl {args:?}: {}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    /// Runs each step in turn: `Ok(stdout)` of a success, or `Err(stderr)`
    /// of a failure (exit code 1).
    fn check(&self, steps: Vec<(Vec<&str>, Result<&str, &str>)>) {
        for (args, expected) in steps {
            match expected {
                Ok(stdout) => assert_eq!(self.ok(&args), stdout, "kubectl {args:?}"),
                Err(stderr) => assert_eq!(self.fails(&args), stderr, "kubectl {args:?}"),
            }
        }
    }

    /// `kubectl get <args> -o json`, parsed.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
    }

    /// Writes `text` to `name` in the work directory and returns its path,
    /// as kubectl quotes it in `error when creating "<path>"`.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.work.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// A `kubectl get -w` (with `args`) running in the background.
    fn watch(&self, args: &[&str]) -> Watch {
        let mut command = self.kapi.command();
        command
            .args(["--cache-dir", &self.cache_dir(), "get"])
            .args(args)
            .arg("--watch")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start kubectl get --watch");
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Watch {
            child,
            lines,
            seen: Vec::new(),
        }
    }
}

/// A background `kubectl get --watch` whose stdout lines arrive on a
/// channel; killed by PID when dropped.
#[derive(Debug)]
struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    /// Reads lines until one starts with the whitespace-separated `columns`
    /// (20 s at most) and returns all its columns; the lines skipped on the
    /// way stay in `seen` for the failure message.
    fn next_row(&mut self, columns: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let row: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
                    self.seen.push(line);
                    if row.len() >= columns.len() && row.iter().zip(columns).all(|(a, b)| a == b) {
                        return row;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no row {columns:?} from the watch; saw {:#?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "the watch ended before a row {columns:?}; saw {:#?}",
                        self.seen
                    )
                }
            }
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Go's `%q` of a plain ASCII string, as kubectl quotes file names.
fn quote(text: &str) -> String {
    format!("\"{text}\"")
}

/// The managers of `object` as `(manager, operation, fieldsV1)`.
fn managers(object: &Value) -> Vec<(String, String, Value)> {
    object["metadata"]["managedFields"]
        .as_array()
        .unwrap_or_else(|| panic!("no managedFields in {object}"))
        .iter()
        .map(|entry| {
            (
                entry["manager"].as_str().unwrap().to_owned(),
                entry["operation"].as_str().unwrap().to_owned(),
                entry["fieldsV1"].clone(),
            )
        })
        .collect()
}

/// `kubectl patch <target> --type <kind> -p <body>`.
fn patch<'a>(target: &'a str, kind: &'a str, body: &'a str) -> Vec<&'a str> {
    vec!["patch", target, "--type", kind, "-p", body]
}

/// The whitespace-separated columns of each line of `text`.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| line.split_whitespace().map(str::to_owned).collect())
        .collect()
}

fn configmap(name: &str, data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n{data}")
}

#[test]
fn create_and_apply_manifests() {
    let Some(kubectl) = kubectl() else { return };
    let s = Session::start(&kubectl);

    // create -f with kubectl's default validation: it finds /openapi/v3
    // and asks the server for fieldValidation=Strict.
    let app = s.file(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels:\n    tier: web\ndata:\n  a: \"1\"\n  b: \"2\"\n",
    );
    assert_eq!(s.ok(&["create", "-f", &app]), "configmap/app created\n");
    let created = s.json(&["cm", "app"]);
    assert_eq!(created["data"], json!({"a": "1", "b": "2"}), "{created}");
    assert_eq!(created["metadata"]["labels"], json!({"tier": "web"}));
    assert_eq!(
        s.fails(&["create", "-f", &app]),
        format!(
            "Error from server (AlreadyExists): error when creating {}: configmaps \"app\" already exists\n",
            quote(&app)
        )
    );

    let unknown = s.file(
        "unknown.yaml",
        &configmap("unknown", "  a: \"1\"\nbogus: true\n"),
    );
    assert_eq!(
        s.fails(&["create", "-f", &unknown]),
        format!(
            "Error from server (BadRequest): error when creating {}: ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogus\"\n",
            quote(&unknown)
        )
    );
    // Without validation the field is dropped.
    assert_eq!(
        s.ok(&["create", "-f", &unknown, "--validate=false"]),
        "configmap/unknown created\n"
    );
    let dropped = s.json(&["cm", "unknown"]);
    assert!(dropped.get("bogus").is_none(), "{dropped}");

    // A value of the wrong type is a decoding error in Go.
    let number = s.file("number.yaml", &configmap("number", "  a: 1\n"));
    let output = s.run(&["create", "-f", &number]);
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!(
            "Error from server (BadRequest): error when creating {}: ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string\n",
            quote(&number)
        ),
    );

    // Client-side apply: created, unchanged, configured, and a key
    // dropped from the manifest is dropped from the object.
    let applied = s.file(
        "applied.yaml",
        &configmap("applied", "  keep: \"1\"\n  drop: \"2\"\n"),
    );
    assert_eq!(
        s.ok(&["apply", "-f", &applied]),
        "configmap/applied created\n"
    );
    assert_eq!(
        s.ok(&["apply", "-f", &applied]),
        "configmap/applied unchanged\n"
    );
    s.file(
        "applied.yaml",
        &configmap("applied", "  keep: \"changed\"\n"),
    );
    assert_eq!(
        s.ok(&["apply", "-f", &applied]),
        "configmap/applied configured\n"
    );
    let object = s.json(&["cm", "applied", "--show-managed-fields"]);
    assert_eq!(object["data"], json!({"keep": "changed"}), "{object}");
    let last_applied =
        object["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap_or_else(|| panic!("no last-applied annotation: {object}"));
    assert_eq!(
        serde_json::from_str::<Value>(last_applied).unwrap(),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"annotations": {}, "name": "applied", "namespace": "default"},
            "data": {"keep": "changed"},
        })
    );
    assert_eq!(
        managers(&object),
        [(
            "kubectl-client-side-apply".to_owned(),
            "Update".to_owned(),
            json!({
                "f:data": {".": {}, "f:keep": {}},
                "f:metadata": {"f:annotations": {
                    ".": {},
                    "f:kubectl.kubernetes.io/last-applied-configuration": {},
                }},
            })
        )]
    );

    // Server-side apply records an Apply manager; `get` hides
    // managedFields unless asked.
    let ssa = s.file("ssa.yaml", &configmap("ssa", "  x: \"1\"\n"));
    assert_eq!(
        s.ok(&["apply", "--server-side", "-f", &ssa]),
        "configmap/ssa serverside-applied\n"
    );
    assert!(
        !s.ok(&["get", "cm", "ssa", "-o", "yaml"])
            .contains("managedFields")
    );
    let yaml = s.ok(&["get", "cm", "ssa", "-o", "yaml", "--show-managed-fields"]);
    for line in [
        "  managedFields:",
        "    manager: kubectl",
        "    operation: Apply",
        "      f:data:",
        "        f:x: {}",
    ] {
        assert!(yaml.lines().any(|l| l == line), "no {line:?} in\n{yaml}");
    }

    // Two appliers of one value share it; a third changing it conflicts
    // with both (managers sorted), and nothing changes.
    assert_eq!(
        s.ok(&["apply", "--server-side", "--field-manager", "a", "-f", &ssa]),
        "configmap/ssa serverside-applied\n"
    );
    let ssa2 = s.file("ssa2.yaml", &configmap("ssa", "  x: \"2\"\n"));
    let conflict = s.fails(&[
        "apply",
        "--server-side",
        "--field-manager",
        "b",
        "-f",
        &ssa2,
    ]);
    assert!(
        conflict.starts_with(
            "error: Apply failed with 2 conflicts: conflicts with \"a\":\n- .data.x\nconflicts with \"kubectl\":\n- .data.x\nPlease review the fields above--they currently have other managers. Here\n"
        ),
        "{conflict}"
    );
    assert!(
        conflict.contains("re-run the apply\n  command with the `--force-conflicts` flag."),
        "{conflict}"
    );

    // One conflict, then --force-conflicts moves the field to `b`: the
    // emptied manager `a` disappears.
    let one = s.file("one.yaml", &configmap("one", "  x: \"1\"\n"));
    s.ok(&["apply", "--server-side", "--field-manager", "a", "-f", &one]);
    let one2 = s.file("one2.yaml", &configmap("one", "  x: \"2\"\n"));
    let conflict = s.fails(&[
        "apply",
        "--server-side",
        "--field-manager",
        "b",
        "-f",
        &one2,
    ]);
    assert_eq!(
        conflict.lines().next(),
        Some("error: Apply failed with 1 conflict: conflict with \"a\": .data.x"),
        "{conflict}"
    );
    assert_eq!(s.json(&["cm", "one"])["data"], json!({"x": "1"}));
    assert_eq!(
        s.ok(&[
            "apply",
            "--server-side",
            "--field-manager",
            "b",
            "--force-conflicts",
            "-f",
            &one2
        ]),
        "configmap/one serverside-applied\n"
    );
    let forced = s.json(&["cm", "one", "--show-managed-fields"]);
    assert_eq!(forced["data"], json!({"x": "2"}), "{forced}");
    assert_eq!(
        managers(&forced),
        [(
            "b".to_owned(),
            "Apply".to_owned(),
            json!({"f:data": {"f:x": {}}})
        )]
    );

    // A conflict with an Update manager names its API version.
    let made = s.file("made.yaml", &configmap("made", "  x: \"1\"\n"));
    s.ok(&["create", "-f", &made]);
    let made2 = s.file("made2.yaml", &configmap("made", "  x: \"2\"\n"));
    let conflict = s.fails(&["apply", "--server-side", "-f", &made2]);
    assert_eq!(
        conflict.lines().next(),
        Some(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .data.x"
        ),
        "{conflict}"
    );
}

#[test]
fn get_label_annotate_patch_and_delete() {
    let Some(kubectl) = kubectl() else { return };
    let s = Session::start(&kubectl);
    let app = s.file(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels:\n    tier: web\ndata:\n  a: \"1\"\n  b: \"2\"\n",
    );
    s.ok(&["create", "-f", &app]);

    // Output formats.
    let object = s.json(&["cm", "app"]);
    assert_eq!(object["kind"], "ConfigMap");
    assert_eq!(object["apiVersion"], "v1");
    assert_eq!(object["metadata"]["namespace"], "default");
    assert!(object["metadata"]["uid"].is_string(), "{object}");
    assert!(
        object["metadata"].get("managedFields").is_none(),
        "{object}"
    );
    let yaml = s.ok(&["get", "cm", "app", "-o", "yaml"]);
    for line in [
        "apiVersion: v1",
        "kind: ConfigMap",
        "data:",
        "  a: \"1\"",
        "  name: app",
        "  namespace: default",
        "    tier: web",
    ] {
        assert!(yaml.lines().any(|l| l == line), "no {line:?} in\n{yaml}");
    }
    let list = s.ok(&["get", "cm", "-o", "yaml"]);
    assert!(list.starts_with("apiVersion: v1\nitems:\n"), "{list}");
    assert!(
        list.ends_with("kind: List\nmetadata:\n  resourceVersion: \"\"\n"),
        "{list}"
    );
    let wide = rows(&s.ok(&["get", "cm", "app", "-o", "wide", "--show-labels"]));
    assert_eq!(wide[0], ["NAME", "DATA", "AGE", "LABELS"]);
    assert_eq!(wide[1][..2], ["app", "2"]);
    assert_eq!(wide[1][3], "tier=web");
    assert_eq!(s.ok(&["get", "cm", "app", "-o", "jsonpath={.data.b}"]), "2");

    // label and annotate: add, refuse to overwrite, overwrite, select,
    // remove.
    let not_found = "Error from server (NotFound): configmaps \"nope\" not found\n";
    s.check(vec![
        (vec!["label", "cm", "app", "env=prod"], Ok("configmap/app labeled\n")),
        (
            vec!["label", "cm", "app", "env=dev"],
            Err("error: 'env' already has a value (prod), and --overwrite is false\n"),
        ),
        (
            vec!["label", "cm", "app", "env=dev", "--overwrite"],
            Ok("configmap/app labeled\n"),
        ),
        (vec!["get", "cm", "-l", "env=dev", "-o", "name"], Ok("configmap/app\n")),
        (vec!["label", "cm", "app", "env-"], Ok("configmap/app unlabeled\n")),
        (vec!["get", "cm", "-l", "env", "-o", "name"], Ok("")),
        (
            vec!["label", "cm", "app", "bad key=x"],
            Err(
                "The ConfigMap \"app\" is invalid: metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')\n",
            ),
        ),
        (vec!["label", "cm", "nope", "x=y"], Err(not_found)),
        (vec!["annotate", "cm", "app", "note=hello"], Ok("configmap/app annotated\n")),
        (
            vec!["annotate", "cm", "app", "note=bye"],
            Err(
                "error: --overwrite is false but found the following declared annotation(s): 'note' already has a value (hello)\n",
            ),
        ),
        (
            vec!["annotate", "cm", "app", "note=bye", "--overwrite"],
            Ok("configmap/app annotated\n"),
        ),
    ]);
    let metadata = &s.json(&["cm", "app"])["metadata"];
    assert_eq!(metadata["labels"], json!({"tier": "web"}));
    assert_eq!(metadata["annotations"], json!({"note": "bye"}));

    // patch: merge (null deletes), json, strategic, a no-op, Go's generic
    // 422 for a JSON patch that cannot apply, and NotFound.
    s.check(vec![
        (
            patch("cm/app", "merge", r#"{"data":{"a":null,"c":"3"}}"#),
            Ok("configmap/app patched\n"),
        ),
        (
            patch(
                "cm/app",
                "json",
                r#"[{"op":"replace","path":"/data/b","value":"two"},{"op":"add","path":"/data/d","value":"4"}]"#,
            ),
            Ok("configmap/app patched\n"),
        ),
        (
            patch("cm/app", "strategic", r#"{"data":{"e":"5"}}"#),
            Ok("configmap/app patched\n"),
        ),
        (
            patch("cm/app", "strategic", r#"{"data":{"e":"5"}}"#),
            Ok("configmap/app patched (no change)\n"),
        ),
        (
            patch("cm/app", "json", r#"[{"op":"remove","path":"/data/missing"}]"#),
            Err(
                "The request is invalid: the server rejected our request due to an error in our request\n",
            ),
        ),
        (patch("cm/nope", "merge", r#"{"data":{}}"#), Err(not_found)),
    ]);
    assert_eq!(
        s.json(&["cm", "app"])["data"],
        json!({"b": "two", "c": "3", "d": "4", "e": "5"})
    );

    // A stale resourceVersion is a Conflict, for patch and replace alike.
    let stale_file = s.file("stale.yaml", &s.ok(&["get", "cm", "app", "-o", "yaml"]));
    let rv = s.json(&["cm", "app"])["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let stale_patch = format!(r#"{{"metadata":{{"resourceVersion":"{rv}"}},"data":{{"g":"7"}}}}"#);
    let conflict = "Operation cannot be fulfilled on configmaps \"app\": the object has been modified; please apply your changes to the latest version and try again";
    s.check(vec![
        (
            patch("cm/app", "merge", r#"{"data":{"f":"6"}}"#),
            Ok("configmap/app patched\n"),
        ),
        (
            patch("cm/app", "merge", &stale_patch),
            Err(&format!("Error from server (Conflict): {conflict}\n")),
        ),
        (
            vec!["replace", "-f", &stale_file],
            Err(&format!(
                "Error from server (Conflict): error when replacing {}: {conflict}\n",
                quote(&stale_file)
            )),
        ),
    ]);

    // A merge patch giving a string field a number fails to decode in Go
    // (`patch: Invalid value: "<the patched object>": json: cannot
    // unmarshal number into Go struct field ConfigMap.data of type
    // string`), and the object is unchanged.
    let output = s.run(&patch("cm/app", "merge", r#"{"data":{"n":1}}"#));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        format!(
            "{} {}",
            output.status.success(),
            stderr.contains(
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
            )
        ),
        "false true",
    );

    // ConfigMap validation: data keys, and immutability.
    let keys = s.file("keys.yaml", &configmap("keys", "  bad key: x\n"));
    let output = s.run(&["create", "-f", &keys]);
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "The ConfigMap \"keys\" is invalid: data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')\n",
    );
    s.ok(&["create", "cm", "frozen", "--from-literal=a=b"]);
    s.ok(&patch("cm/frozen", "merge", r#"{"immutable":true}"#));
    let output = s.run(&patch("cm/frozen", "merge", r#"{"data":{"a":"c"}}"#));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "The ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set\n",
    );

    // get of one present and one missing name prints one and fails.
    let output = s.run(&["get", "cm", "app", "nope", "-o", "name"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "configmap/app\n");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "Error from server (NotFound): configmaps \"nope\" not found\n"
    );

    // delete: by name, again (NotFound), ignored, and by file.
    let gone = "Error from server (NotFound): configmaps \"app\" not found\n";
    let by_file = format!(
        "Error from server (NotFound): error when deleting {}: configmaps \"app\" not found\n",
        quote(&app)
    );
    s.check(vec![
        (
            vec!["delete", "cm", "app"],
            Ok("configmap \"app\" deleted\n"),
        ),
        (vec!["delete", "cm", "app"], Err(gone)),
        (vec!["delete", "cm", "app", "--ignore-not-found"], Ok("")),
        (vec!["delete", "-f", &app], Err(&by_file)),
        (vec!["get", "cm", "app"], Err(gone)),
    ]);
}

#[test]
fn watch_prints_table_rows() {
    let Some(kubectl) = kubectl() else { return };
    let s = Session::start(&kubectl);
    s.ok(&["create", "cm", "before", "--from-literal=a=b"]);

    let mut events = s.watch(&["cm", "--output-watch-events"]);
    let mut plain = s.watch(&["cm"]);
    assert_eq!(
        events.next_row(&["EVENT"]),
        ["EVENT", "NAME", "DATA", "AGE"]
    );
    events.next_row(&["ADDED", "before", "1"]);
    assert_eq!(plain.next_row(&["NAME"]), ["NAME", "DATA", "AGE"]);
    plain.next_row(&["before", "1"]);

    s.ok(&["create", "cm", "w", "--from-literal=a=b"]);
    events.next_row(&["ADDED", "w", "1"]);
    plain.next_row(&["w", "1"]);
    s.ok(&[
        "patch",
        "cm",
        "w",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"c":"d"}}"#,
    ]);
    events.next_row(&["MODIFIED", "w", "2"]);
    plain.next_row(&["w", "2"]);
    s.ok(&["delete", "cm", "w"]);
    events.next_row(&["DELETED", "w", "2"]);
    plain.next_row(&["w", "2"]);

    // Every line after the header is a row of the same columns.
    for (watch, width) in [(&events, 4), (&plain, 3)] {
        for line in &watch.seen {
            assert_eq!(line.split_whitespace().count(), width, "{:#?}", watch.seen);
        }
    }
    drop(events);
    drop(plain);

    // `-o name` watches print names: the listed object first, then the
    // new one.
    let mut names = s.watch(&["cm", "-o", "name"]);
    names.next_row(&["configmap/before"]);
    s.ok(&["create", "cm", "n", "--from-literal=a=b"]);
    names.next_row(&["configmap/n"]);
}

#[test]
fn discovery_and_explain() {
    let Some(kubectl) = kubectl() else { return };
    let s = Session::start(&kubectl);

    assert_eq!(
        s.ok(&["api-versions"]),
        "apiextensions.k8s.io/v1\ncoordination.k8s.io/v1\nevents.k8s.io/v1\nrbac.authorization.k8s.io/v1\nv1\n"
    );
    let table = rows(&s.ok(&["api-resources", "-o", "wide"]));
    assert_eq!(
        table[0],
        [
            "NAME",
            "SHORTNAMES",
            "APIVERSION",
            "NAMESPACED",
            "KIND",
            "VERBS",
            "CATEGORIES"
        ]
    );
    let all_verbs = "create,delete,deletecollection,get,list,patch,update,watch";
    for expected in [
        &["configmaps", "cm", "v1", "true", "ConfigMap", all_verbs][..],
        &[
            "namespaces",
            "ns",
            "v1",
            "false",
            "Namespace",
            "create,delete,get,list,patch,update,watch",
        ],
        &["secrets", "v1", "true", "Secret", all_verbs],
        &[
            "serviceaccounts",
            "sa",
            "v1",
            "true",
            "ServiceAccount",
            all_verbs,
        ],
        &[
            "leases",
            "coordination.k8s.io/v1",
            "true",
            "Lease",
            all_verbs,
        ],
        &[
            "customresourcedefinitions",
            "crd,crds",
            "apiextensions.k8s.io/v1",
            "false",
            "CustomResourceDefinition",
            all_verbs,
            "api-extensions",
        ],
        &[
            "roles",
            "rbac.authorization.k8s.io/v1",
            "true",
            "Role",
            all_verbs,
        ],
    ] {
        assert!(
            table.iter().any(|row| row == expected),
            "no row {expected:?} in {table:#?}"
        );
    }
    let coordination = s.ok(&[
        "api-resources",
        "--api-group=coordination.k8s.io",
        "-o",
        "name",
    ]);
    assert_eq!(coordination, "leases.coordination.k8s.io\n");

    let explain = s.ok(&["explain", "configmaps.data"]);
    for line in [
        "KIND:       ConfigMap",
        "VERSION:    v1",
        "FIELD: data <map[string]string>",
        "DESCRIPTION:",
    ] {
        assert!(
            explain.lines().any(|l| l == line),
            "no {line:?} in\n{explain}"
        );
    }
    assert!(
        explain.contains("Data contains the configuration data."),
        "{explain}"
    );

    let explain = s.ok(&[
        "explain",
        "leases.spec",
        "--api-version=coordination.k8s.io/v1",
    ]);
    for line in [
        "GROUP:      coordination.k8s.io",
        "KIND:       Lease",
        "VERSION:    v1",
        "FIELD: spec <LeaseSpec>",
        "FIELDS:",
        "  holderIdentity\t<string>",
        "  leaseDurationSeconds\t<integer>",
    ] {
        assert!(
            explain.lines().any(|l| l == line),
            "no {line:?} in\n{explain}"
        );
    }

    assert_eq!(
        s.fails(&["explain", "configmaps.nope"]),
        "error: field \"nope\" does not exist\n"
    );
}

/// The CronTab CRD of the Kubernetes docs, with a bounded, defaulted
/// `replicas`, the status and scale subresources, and printer columns
/// (one of them `-o wide` only).
const CRONTAB_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec:
                type: string
                pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
                description: The cron schedule.
              image:
                type: string
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
          status:
            type: object
            properties:
              replicas:
                type: integer
              labelSelector:
                type: string
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      description: The cron spec defining the interval a CronJob is run
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      description: The number of jobs launched by the CronJob
      jsonPath: .spec.replicas
    - name: Image
      type: string
      priority: 1
      jsonPath: .spec.image
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
"#;

fn crontab(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

#[test]
fn crontabs_through_their_crd() {
    let Some(kubectl) = kubectl() else { return };
    let s = Session::start(&kubectl);
    let crd = s.file("crd.yaml", CRONTAB_CRD);
    assert_eq!(
        s.ok(&["apply", "-f", &crd]),
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created\n"
    );
    assert_eq!(
        s.ok(&[
            "wait",
            "--for=condition=established",
            "crd/crontabs.stable.example.com",
            "--timeout=20s"
        ]),
        "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com condition met\n"
    );

    let cron = s.file(
        "cron.yaml",
        &crontab(
            "my-new-cron-object",
            "  cronSpec: \"* * * * */5\"\n  image: my-awesome-cron-image\n",
        ),
    );
    assert_eq!(
        s.ok(&["create", "-f", &cron]),
        "crontab.stable.example.com/my-new-cron-object created\n"
    );
    // The short name, the printer columns, and the defaulted replicas.
    let table = rows(&s.ok(&["get", "ct"]));
    assert_eq!(table[0], ["NAME", "SPEC", "REPLICAS", "AGE"]);
    assert_eq!(
        table[1][..6],
        ["my-new-cron-object", "*", "*", "*", "*", "*/5"]
    );
    assert_eq!(table[1][6], "1");
    let table = rows(&s.ok(&["get", "crontabs", "-o", "wide"]));
    assert_eq!(table[0], ["NAME", "SPEC", "REPLICAS", "IMAGE", "AGE"]);
    assert_eq!(table[1][6..8], ["1", "my-awesome-cron-image"]);
    assert_eq!(
        s.ok(&[
            "get",
            "ct",
            "my-new-cron-object",
            "-o",
            "jsonpath={.spec.cronSpec}|{.spec.replicas}"
        ]),
        "* * * * */5|1"
    );
    let api = rows(&s.ok(&["api-resources", "--api-group=stable.example.com"]));
    assert_eq!(
        api[1],
        ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"]
    );
    let explain = s.ok(&["explain", "crontabs.spec.cronSpec"]);
    for line in [
        "GROUP:      stable.example.com",
        "KIND:       CronTab",
        "FIELD: cronSpec <string>",
        "    The cron schedule.",
    ] {
        assert!(
            explain.lines().any(|l| l == line),
            "no {line:?} in\n{explain}"
        );
    }

    // Schema validation: one error, then two (in no fixed order, as the
    // Go validator walks a map).
    let bad = s.file(
        "bad.yaml",
        &crontab("bad", "  cronSpec: \"* * * * *\"\n  replicas: 0\n"),
    );
    assert_eq!(
        s.fails(&["create", "-f", &bad]),
        "The CronTab \"bad\" is invalid: spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1\n"
    );
    let worse = s.file(
        "worse.yaml",
        &crontab("worse", "  cronSpec: \"x\"\n  replicas: 20\n"),
    );
    let stderr = s.fails(&["create", "-f", &worse]);
    let mut lines: Vec<&str> = stderr.lines().collect();
    lines[1..].sort_unstable();
    assert_eq!(
        lines,
        [
            "The CronTab \"worse\" is invalid: ",
            r#"* spec.cronSpec: Invalid value: "x": spec.cronSpec in body should match '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'"#,
            "* spec.replicas: Invalid value: 20: spec.replicas in body should be less than or equal to 10",
        ]
    );
    // Strict decoding of an unknown field, and pruning without it.
    let unknown = s.file(
        "unknown.yaml",
        &crontab("unknown", "  cronSpec: \"* * * * *\"\n  color: blue\n"),
    );
    assert_eq!(
        s.fails(&["create", "-f", &unknown]),
        format!(
            "Error from server (BadRequest): error when creating {}: CronTab in version \"v1\" cannot be handled as a CronTab: strict decoding error: unknown field \"spec.color\"\n",
            quote(&unknown)
        )
    );
    s.ok(&["create", "-f", &unknown, "--validate=false"]);
    assert_eq!(
        s.json(&["ct", "unknown"])["spec"],
        json!({"cronSpec": "* * * * *", "replicas": 1})
    );

    // The rows of a CronTab watch follow the scale subresource.
    let mut watch = s.watch(&["ct", "my-new-cron-object"]);
    assert_eq!(
        watch.next_row(&["NAME"]),
        ["NAME", "SPEC", "REPLICAS", "AGE"]
    );
    watch.next_row(&["my-new-cron-object"]);
    assert_eq!(
        s.ok(&["scale", "ct", "my-new-cron-object", "--replicas=3"]),
        "crontab.stable.example.com/my-new-cron-object scaled\n"
    );
    let row = watch.next_row(&["my-new-cron-object"]);
    assert_eq!(row[6], "3", "{row:?}");
    drop(watch);
    // The scale write is recorded as an Update of `kubectl` (its user
    // agent) on the `scale` subresource, which takes `spec.replicas` from
    // the creator (Go: `managedfields.ScaleHandler.ToParent`).
    let object = s.json(&["ct", "my-new-cron-object", "--show-managed-fields"]);
    let mut entries: Vec<String> = object["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            json!({
                "manager": entry["manager"],
                "operation": entry["operation"],
                "subresource": entry["subresource"],
                "apiVersion": entry["apiVersion"],
                "fieldsV1": entry["fieldsV1"],
            })
            .to_string()
        })
        .collect();
    entries.sort();
    let mut expected = [
        json!({
            "manager": "kubectl",
            "operation": "Update",
            "subresource": "scale",
            "apiVersion": "stable.example.com/v1",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        })
        .to_string(),
        json!({
            "manager": "kubectl-create",
            "operation": "Update",
            "subresource": null,
            "apiVersion": "stable.example.com/v1",
            "fieldsV1": {"f:spec": {".": {}, "f:cronSpec": {}, "f:image": {}}},
        })
        .to_string(),
    ];
    expected.sort();
    assert_eq!(entries.join("\n"), expected.join("\n"));
    assert_eq!(
        s.fails(&["scale", "ct", "my-new-cron-object", "--replicas=30"]),
        "The CronTab \"my-new-cron-object\" is invalid: spec.replicas: Invalid value: 30: spec.replicas in body should be less than or equal to 10\n"
    );
    assert_eq!(
        s.ok(&[
            "get",
            "ct",
            "my-new-cron-object",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "3"
    );

    // Patches: merge on the main resource and on status (the scale
    // subresource reads both), the schema applying to patches too.
    let ct = "ct/my-new-cron-object";
    let patched = "crontab.stable.example.com/my-new-cron-object patched\n";
    let mut status = patch(
        ct,
        "merge",
        r#"{"status":{"replicas":2,"labelSelector":"app=cron"}}"#,
    );
    status.extend(["--subresource", "status"]);
    s.check(vec![
        (patch(ct, "merge", r#"{"spec":{"image":"new-image"}}"#), Ok(patched)),
        (
            patch(ct, "merge", r#"{"spec":{"replicas":11}}"#),
            Err(
                "The CronTab \"my-new-cron-object\" is invalid: spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10\n",
            ),
        ),
        (status, Ok(patched)),
        (
            patch(ct, "json", r#"[{"op":"replace","path":"/spec/image","value":"newer"}]"#),
            Ok(patched),
        ),
        // A strategic merge patch has no schema to follow on a CR.
        (
            patch(ct, "strategic", r#"{"spec":{"image":"x"}}"#),
            Err(
                "error: application/strategic-merge-patch+json is not supported by stable.example.com/v1, Kind=CronTab: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml\n",
            ),
        ),
        (
            vec!["get", "ct", "nope"],
            Err("Error from server (NotFound): crontabs.stable.example.com \"nope\" not found\n"),
        ),
    ]);
    let scale: Value = serde_json::from_str(&s.ok(&[
        "get",
        "--raw",
        "/apis/stable.example.com/v1/namespaces/default/crontabs/my-new-cron-object/scale",
    ]))
    .unwrap();
    assert_eq!(scale["kind"], "Scale", "{scale}");
    assert_eq!(scale["apiVersion"], "autoscaling/v1", "{scale}");
    assert_eq!(scale["spec"], json!({"replicas": 3}), "{scale}");
    assert_eq!(
        scale["status"],
        json!({"replicas": 2, "selector": "app=cron"}),
        "{scale}"
    );
    assert_eq!(
        s.ok(&["get", ct, "-o", "jsonpath={.spec.image} {.status.replicas}"]),
        "newer 2"
    );

    // Deleting the CRD (kubectl waits for it) takes its instances along.
    assert_eq!(
        s.ok(&[
            "delete",
            "crd",
            "crontabs.stable.example.com",
            "--timeout=30s"
        ]),
        "customresourcedefinition.apiextensions.k8s.io \"crontabs.stable.example.com\" deleted\n"
    );
    // The group goes once the controller sees the CRD gone, as in Go,
    // where the handler follows its informer.
    let list = "/apis/stable.example.com/v1/namespaces/default/crontabs";
    let deadline = Instant::now() + Duration::from_secs(20);
    let gone = loop {
        let output = s.run(&["get", "--raw", list]);
        if !output.status.success() {
            break output;
        }
        assert!(Instant::now() < deadline, "{list} still served");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        String::from_utf8_lossy(&gone.stderr),
        "Error from server (NotFound): the server could not find the requested resource\n"
    );
    s.ok(&["apply", "-f", &crd]);
    s.ok(&[
        "wait",
        "--for=condition=established",
        "crd/crontabs.stable.example.com",
        "--timeout=20s",
    ]);
    let output = s.run(&["get", "crontabs.stable.example.com"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "No resources found in default namespace.\n"
    );
}

#[test]
fn chunked_lists() {
    let Some(kubectl) = kubectl() else { return };
    let s = Session::start(&kubectl);
    let manifests: String = (1..=25)
        .map(|i| {
            format!(
                "---\n{}",
                configmap(&format!("page-{i:02}"), &format!("  i: \"{i}\"\n"))
            )
        })
        .collect();
    let file = s.file("pages.yaml", &manifests);
    let created = s.ok(&["create", "-f", &file]);
    assert_eq!(created.lines().count(), 25, "{created}");

    let expected: Vec<String> = (1..=25).map(|i| format!("configmap/page-{i:02}")).collect();
    let output = s.run(&["get", "cm", "--chunk-size=10", "-o", "name", "-v=6"]);
    assert!(output.status.success(), "{output:?}");
    let names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, expected);
    // kubectl asked for three pages of at most 10.
    let log = String::from_utf8_lossy(&output.stderr);
    let pages: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("/api/v1/namespaces/default/configmaps?"))
        .collect();
    assert_eq!(pages.len(), 3, "{log}");
    assert!(pages.iter().all(|line| line.contains("limit=10")), "{log}");
    assert_eq!(
        pages
            .iter()
            .filter(|line| line.contains("continue="))
            .count(),
        2,
        "{log}"
    );

    // Server-side tables page the same way; one header.
    let table = rows(&s.ok(&["get", "cm", "--chunk-size=10"]));
    assert_eq!(table.len(), 26);
    assert_eq!(table[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(table[25][..2], ["page-25", "1"]);

    // The pages themselves.
    let page = |query: &str| -> Value {
        let text = s.ok(&[
            "get",
            "--raw",
            &format!("/api/v1/namespaces/default/configmaps?{query}"),
        ]);
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{err}: {text}"))
    };
    let first = page("limit=10");
    let names = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&first),
        (1..=10).map(|i| format!("page-{i:02}")).collect::<Vec<_>>()
    );
    assert_eq!(
        first["metadata"]["remainingItemCount"], 15,
        "{}",
        first["metadata"]
    );
    let token = first["metadata"]["continue"]
        .as_str()
        .filter(|token| !token.is_empty())
        .unwrap_or_else(|| panic!("no continue token: {}", first["metadata"]))
        .to_owned();
    let second = page(&format!("limit=10&continue={token}"));
    assert_eq!(
        names(&second),
        (11..=20)
            .map(|i| format!("page-{i:02}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        second["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    let token = second["metadata"]["continue"].as_str().unwrap().to_owned();
    let last = page(&format!("limit=10&continue={token}"));
    assert_eq!(names(&last).len(), 5);
    assert!(
        last["metadata"].get("continue").is_none(),
        "{}",
        last["metadata"]
    );
    assert!(
        last["metadata"].get("remainingItemCount").is_none(),
        "{}",
        last["metadata"]
    );
}

/// A CRD with two served versions (conversion `None`): objects written
/// through one are read through the other, discovery lists both with the
/// storage version preferred, and the deprecated one warns.
#[test]
fn crd_versions_serve_the_same_objects() {
    let Some(kubectl) = kubectl() else { return };
    let s = Session::start(&kubectl);
    let crd = s.file(
        "widgets.yaml",
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Cluster
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
"#,
    );
    s.ok(&["apply", "-f", &crd]);
    s.ok(&[
        "wait",
        "--for=condition=established",
        "crd/widgets.example.com",
        "--timeout=20s",
    ]);
    let versions = s.ok(&["api-versions"]);
    assert!(versions.contains("example.com/v1\n"), "{versions}");
    assert!(versions.contains("example.com/v1beta1\n"), "{versions}");
    let group: Value = serde_json::from_str(&s.ok(&["get", "--raw", "/apis/example.com"])).unwrap();
    assert_eq!(group["preferredVersion"]["version"], "v1", "{group}");

    let widget = s.file(
        "w.yaml",
        "apiVersion: example.com/v1beta1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 2}\n",
    );
    let output = s.run(&["create", "-f", &widget]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "Warning: example.com/v1beta1 Widget is deprecated; use example.com/v1 Widget\n"
    );
    let v1: Value =
        serde_json::from_str(&s.ok(&["get", "widgets.v1.example.com", "w1", "-o", "json"]))
            .unwrap();
    assert_eq!(v1["apiVersion"], "example.com/v1");
    assert_eq!(v1["spec"]["size"], 2);
    s.ok(&[
        "patch",
        "widgets.v1.example.com",
        "w1",
        "--type=merge",
        "-p",
        r#"{"spec":{"size":3}}"#,
    ]);
    let beta: Value =
        serde_json::from_str(&s.ok(&["get", "widgets.v1beta1.example.com", "w1", "-o", "json"]))
            .unwrap();
    assert_eq!(beta["apiVersion"], "example.com/v1beta1");
    assert_eq!(beta["spec"]["size"], 3);

    // No longer serving v1beta1 takes it out of discovery and OpenAPI.
    let openapi = |s: &Session| -> Value {
        serde_json::from_str(&s.ok(&["get", "--raw", "/openapi/v3"])).unwrap()
    };
    assert!(openapi(&s)["paths"]["apis/example.com/v1beta1"].is_object());
    s.ok(&[
        "patch",
        "crd",
        "widgets.example.com",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/versions/0/served","value":false}]"#,
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while s.ok(&["api-versions"]).contains("example.com/v1beta1") {
        assert!(std::time::Instant::now() < deadline, "v1beta1 still served");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let paths = openapi(&s);
    assert!(
        paths["paths"]["apis/example.com/v1beta1"].is_null(),
        "{paths}"
    );
    assert!(paths["paths"]["apis/example.com/v1"].is_object(), "{paths}");
    assert_eq!(
        s.ok(&[
            "get",
            "widgets.v1.example.com",
            "w1",
            "-o",
            "jsonpath={.spec.size}"
        ]),
        "3"
    );
}
