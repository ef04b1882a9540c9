//! Process-level tests of the signal handler.
//!
//! A signal handler can be installed once per process, and a second signal
//! ends the process, so every scenario runs in a child: the test re-runs this
//! test binary, filtered to itself, with `KAPI_SIGNAL_CHILD` naming what the
//! child does. The parent sends real signals with `kill` and checks the
//! child's output and exit status.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kapi_serving::{Error, request_shutdown, setup_signal_handler};

const CHILD_ENV: &str = "KAPI_SIGNAL_CHILD";

/// Marks the child's progress reports in its output (libtest writes its own
/// lines around them, and the test name on the same line).
const REPORT: &str = "signal-child: ";

#[test]
fn first_signal_starts_a_graceful_shutdown() {
    if run_as_child() {
        return;
    }
    let test = "first_signal_starts_a_graceful_shutdown";
    check(
        test,
        Mode::Graceful,
        &["TERM"],
        &["ready", "stopping", "stopped"],
        0,
    );
    check(
        test,
        Mode::Graceful,
        &["INT"],
        &["ready", "stopping", "stopped"],
        0,
    );
}

#[test]
fn second_signal_exits_with_status_1() {
    if run_as_child() {
        return;
    }
    let test = "second_signal_exits_with_status_1";
    check(
        test,
        Mode::Slow,
        &["TERM", "TERM"],
        &["ready", "stopping"],
        1,
    );
    check(
        test,
        Mode::Slow,
        &["INT", "TERM"],
        &["ready", "stopping"],
        1,
    );
    check(
        test,
        Mode::Slow,
        &["TERM", "INT"],
        &["ready", "stopping"],
        1,
    );
}

#[test]
fn request_shutdown_acts_as_a_signal() {
    if run_as_child() {
        return;
    }
    let test = "request_shutdown_acts_as_a_signal";
    check(
        test,
        Mode::Request,
        &[],
        &["ready", "stopping", "stopped"],
        0,
    );
    // A second request, like a second signal, exits at once.
    check(test, Mode::RequestTwice, &[], &["ready", "stopping"], 1);
    // A signal after a request is the second one.
    check(
        test,
        Mode::RequestThenSignal,
        &["TERM"],
        &["ready", "stopping"],
        1,
    );
}

/// What a child process does.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Waits for the token, then finishes its shutdown at once.
    Graceful,
    /// Waits for the token, then takes 10 s to shut down.
    Slow,
    /// Checks the handler's preconditions, then requests its own shutdown.
    Request,
    /// Requests its shutdown, then requests it again during a slow shutdown.
    RequestTwice,
    /// Requests its shutdown, then takes 10 s to shut down.
    RequestThenSignal,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Graceful => "graceful",
            Mode::Slow => "slow",
            Mode::Request => "request",
            Mode::RequestTwice => "request-twice",
            Mode::RequestThenSignal => "request-then-signal",
        }
    }

    fn requests(self) -> bool {
        matches!(
            self,
            Mode::Request | Mode::RequestTwice | Mode::RequestThenSignal
        )
    }

    fn from_name(name: &str) -> Self {
        [
            Mode::Graceful,
            Mode::Slow,
            Mode::Request,
            Mode::RequestTwice,
            Mode::RequestThenSignal,
        ]
        .into_iter()
        .find(|mode| mode.name() == name)
        .unwrap_or_else(|| panic!("unknown child mode {name:?}"))
    }
}

/// Runs `test` as a child in `mode`, sends it `signals` (the second only
/// once the child reported it is stopping), and checks the lines it printed and its exit
/// status.
fn check(test: &str, mode: Mode, signals: &[&str], expected_lines: &[&str], expected_status: i32) {
    let context = format!("{mode:?} with {signals:?}");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode.name())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = read_lines(&mut child);
    let mut seen = Vec::new();
    let mut wait_for = |expected: &str| {
        if seen.iter().any(|line| line == expected) {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(remaining) {
                Ok(line) if line == expected => {
                    seen.push(line);
                    return;
                }
                Ok(line) => seen.push(line),
                Err(_) => panic!("{context}: no {expected:?} line; saw {seen:?}"),
            }
        }
    };
    wait_for("ready");
    if mode.requests() {
        wait_for("stopping");
    }
    for (i, signal) in signals.iter().enumerate() {
        let sent = Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "{context}: kill -s {signal} failed");
        if i == 0 {
            wait_for("stopping");
        }
    }
    let status = wait_with_timeout(&mut child, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("{context}: child did not exit"));
    // Collect whatever else the child printed, up to the end of its output.
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        seen.push(line);
    }
    assert_eq!(seen, expected_lines, "{context}");
    assert_eq!(status.code(), Some(expected_status), "{context}");
}

/// The child's progress reports, as they arrive.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let Some((_, report)) = line.split_once(REPORT) else {
                continue;
            };
            if tx.send(report.to_owned()).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// In a child process, runs the mode named in the environment and returns
/// `true`; in the parent, returns `false`.
fn run_as_child() -> bool {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return false;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(child(Mode::from_name(&mode)));
    true
}

async fn child(mode: Mode) {
    let requests = mode.requests();
    if requests {
        assert!(!request_shutdown(), "a request without a handler succeeded");
    }
    let token = setup_signal_handler().unwrap();
    assert!(matches!(
        setup_signal_handler(),
        Err(Error::SignalHandlerInstalled)
    ));
    println!("{REPORT}ready");
    if requests {
        assert!(request_shutdown());
    }
    tokio::time::timeout(Duration::from_secs(10), token.cancelled())
        .await
        .unwrap();
    println!("{REPORT}stopping");
    match mode {
        Mode::Graceful | Mode::Request => {}
        Mode::Slow | Mode::RequestThenSignal => tokio::time::sleep(Duration::from_secs(10)).await,
        Mode::RequestTwice => {
            assert!(request_shutdown());
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    }
    println!("{REPORT}stopped");
}
