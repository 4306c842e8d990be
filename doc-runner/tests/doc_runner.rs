//! `kiada-doc` run for real on small documents that need no cluster: bash builtins and
//! coreutils, and a fake `kubectl` first on PATH for the in-pod form.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const KIADA_DOC: &str = env!("CARGO_BIN_EXE_kiada-doc");
/// No run of these documents takes this long; a hang fails the test instead.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One finished `kiada-doc` run.
struct Run {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    took: Duration,
}

impl Run {
    /// Checks what kiada-doc printed (its report: one line per command, then the
    /// counts) and its exit status.
    fn assert_report(&self, report: &str, code: i32) {
        assert_eq!(self.stdout, report, "stderr: {}", self.stderr);
        assert_eq!(self.code, Some(code), "stderr: {}", self.stderr);
    }
}

/// A directory holding `doc.md`, the commands' working directory, and `bin/`, which is
/// first on the commands' PATH.
struct Workspace {
    dir: TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        fs::create_dir(dir.path().join("bin")).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn add_program(&self, name: &str, script: &str) {
        let path = self.path("bin").join(name);
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Writes `doc` to `doc.md` and runs `kiada-doc [args] doc.md` in the directory.
    fn run(&self, doc: &str, args: &[&str]) -> Run {
        fs::write(self.path("doc.md"), doc).unwrap();
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let (stdout_path, stderr_path) = (self.path("stdout"), self.path("stderr"));
        let started = Instant::now();
        let mut child = Command::new(KIADA_DOC)
            .args(args)
            .arg("doc.md")
            .current_dir(self.dir.path())
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).unwrap())
            .stderr(File::create(&stderr_path).unwrap())
            .spawn()
            .expect("kiada-doc starts");
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                panic!("kiada-doc still running after {RUN_LIMIT:?}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let run = Run {
            stdout: fs::read_to_string(stdout_path).unwrap(),
            stderr: fs::read_to_string(stderr_path).unwrap(),
            code: status.code(),
            took: started.elapsed(),
        };
        eprintln!("--- stderr of kiada-doc:\n{}", run.stderr);
        run
    }
}

/// The 1-based number of the document line that is exactly `line`.
fn line_of(doc: &str, line: &str) -> usize {
    let index = doc.lines().position(|l| l == line);
    index.unwrap_or_else(|| panic!("no line {line:?} in the document")) + 1
}

/// The result line of the host command typed as `$ COMMAND`.
fn pass(doc: &str, command: &str) -> String {
    format!(
        "PASS doc.md:{} {command}",
        line_of(doc, &format!("$ {command}"))
    )
}

fn lines(lines: &[String]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

const PASSING: &str = include_str!("docs/passing.md");

#[test]
fn passing_document_carries_state_and_matches_wildcards() {
    let workspace = Workspace::new();
    let run = workspace.run(PASSING, &[]);
    let mut expected = vec!["doc.md: 12 commands".to_owned()];
    for command in [
        "GREETING=hello",
        "export TARGET=world; mkdir -p sub; cd sub",
        r#"echo "$GREETING $TARGET from $(basename "$PWD")""#,
        r#"bash -c 'echo "a child sees $TARGET but not ${GREETING:-nothing}"'"#,
        r"printf 'pear\napple\nfig\n' | sort | head -n 2",
        "echo out; echo err >&2",
        r#"echo "request $RANDOM$RANDOM served by pod quote-$((RANDOM % 3))""#,
        "seq 1 20",
        r"printf 'NAME\tREADY   STATUS\nquiz  1/1  Running   \n'",
        r#"cat; read -r line || echo "stdin is empty""#,
    ] {
        expected.push(pass(PASSING, command));
    }
    let continued = line_of(PASSING, "$ echo one \\");
    expected.push(format!("PASS doc.md:{continued} echo one     two"));
    expected.push(pass(PASSING, "date"));
    expected.push("12 passed, 0 failed".to_owned());
    run.assert_report(&lines(&expected), 0);
}

#[test]
fn wrong_output_fails_showing_expected_and_actual() {
    let doc = "```console\n$ echo hello\nhello\n$ echo hello\ngoodbye\n```\n";
    let run = Workspace::new().run(doc, &[]);
    run.assert_report(
        "doc.md: 2 commands\n\
         PASS doc.md:2 echo hello\n\
         FAIL doc.md:4 echo hello\n\
         \x20   expected output:\n\
         \x20     goodbye\n\
         \x20   actual output:\n\
         \x20     hello\n\
         \x20   exit status: 0\n\
         1 passed, 1 failed\n",
        1,
    );
}

#[test]
fn exit_status_must_be_zero_unless_the_document_shows_it() {
    let doc = "\
```console
$ false
$ sh -c 'echo x; exit 3'
x
command terminated with exit code 3
$ echo y
y
command terminated with exit code 3
```
";
    let run = Workspace::new().run(doc, &[]);
    run.assert_report(
        "doc.md: 3 commands\n\
         FAIL doc.md:2 false\n\
         \x20   expected output:\n\
         \x20     (nothing)\n\
         \x20   actual output:\n\
         \x20     (nothing)\n\
         \x20   exit status: 1, but the document expects 0\n\
         PASS doc.md:3 sh -c 'echo x; exit 3'\n\
         FAIL doc.md:6 echo y\n\
         \x20   expected output:\n\
         \x20     y\n\
         \x20     command terminated with exit code 3\n\
         \x20   actual output:\n\
         \x20     y\n\
         \x20   exit status: 0, but the document expects 3\n\
         1 passed, 2 failed\n",
        1,
    );
}

#[test]
fn retry_runs_a_command_again_until_its_output_matches() {
    let doc = r#"```console retry=20
$ n=$(( $(cat count 2>/dev/null || echo 0) + 1 )); echo $n > count; test $n -ge 3 && echo "ready after $n tries"
ready after 3 tries
```

```console retry=3
$ echo never
always
```

```console
$ cat count
3
```
"#;
    let workspace = Workspace::new();
    let run = workspace.run(doc, &[]);
    let counting = &doc.lines().nth(1).unwrap()[2..];
    assert_eq!(
        run.stdout,
        format!(
            "doc.md: 3 commands\n\
             PASS doc.md:2 {counting}\n\
             FAIL doc.md:7 echo never\n\
             \x20   not as shown in 2 attempts within 3 s; the last one:\n\
             \x20   expected output:\n\
             \x20     always\n\
             \x20   actual output:\n\
             \x20     never\n\
             \x20   exit status: 0\n\
             PASS doc.md:12 cat count\n\
             2 passed, 1 failed\n"
        )
    );
    assert_eq!(fs::read_to_string(workspace.path("count")).unwrap(), "3\n");
}

const FORWARDER: &str = r#"bash -c 'echo $$ > forwarder.pid; echo "Forwarding from 127.0.0.1:8080 -> 8080"; exec sleep 100'"#;

#[test]
fn background_command_runs_beside_the_shell_and_is_stopped_at_the_end() {
    let doc = format!(
        r#"Forward a port:

```console background
$ {FORWARDER}
Forwarding from [..] -> 8080
```

```console
$ kill -0 "$(cat forwarder.pid)" && echo still running
still running
```
"#
    );
    let workspace = Workspace::new();
    let run = workspace.run(&doc, &[]);
    assert_eq!(
        run.stdout,
        lines(&[
            "doc.md: 2 commands".to_owned(),
            pass(&doc, FORWARDER),
            pass(
                &doc,
                r#"kill -0 "$(cat forwarder.pid)" && echo still running"#
            ),
            "2 passed, 0 failed".to_owned(),
        ])
    );
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
    let pid = fs::read_to_string(workspace.path("forwarder.pid")).unwrap();
    let status = Path::new("/proc").join(pid.trim()).join("stat");
    // Gone, or a zombie left for an init that does not reap: either way not running.
    let running = fs::read_to_string(status)
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false);
    assert!(!running, "the background process {} still runs", pid.trim());
}

#[test]
fn a_command_that_hangs_times_out_and_stops_the_run() {
    // A 60 s sleep against a 2 s limit: a run that waited for it takes a minute.
    let doc = "```console\n$ echo before\nbefore\n$ sleep 60\n$ echo after\nafter\n```\n";
    let run = Workspace::new().run(doc, &["--timeout-seconds", "2"]);
    run.assert_report(
        "doc.md: 3 commands\n\
         PASS doc.md:2 echo before\n\
         FAIL doc.md:4 sleep 60\n\
         \x20   did not finish within 2 s: the shell was killed; the run stops here\n\
         \x20   output so far:\n\
         \x20     (nothing)\n\
         1 passed, 1 failed\n",
        1,
    );
    assert!(run.took < Duration::from_secs(30), "took {:?}", run.took);
}

#[test]
fn in_pod_command_without_an_open_pod_is_a_format_error() {
    let doc = "Inside the client pod:\n\n```console\n/ $ curl http://quiz\n```\n";
    let run = Workspace::new().run(doc, &[]);
    run.assert_report("", 64);
    assert!(
        run.stderr
            .contains("doc.md:4: a command typed in a pod's shell"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_block_option_is_a_format_error() {
    let doc = "```console\n$ true\n```\n\n```console retyr=5\n$ touch ran\n```\n";
    let workspace = Workspace::new();
    let run = workspace.run(doc, &[]);
    assert_eq!(run.code, Some(64));
    assert!(
        run.stderr.contains("doc.md:5: unknown option `retyr=5`"),
        "{}",
        run.stderr
    );
    assert!(!workspace.path("ran").exists(), "nothing runs");
}

/// Runs `sh -c CMD` here for `kubectl exec -i POD [-n NS] -- sh -c CMD`, with the pod and
/// namespace in the environment, and fails the way kubectl does.
const FAKE_KUBECTL: &str = r#"#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/kubectl.log"
[ "$1 $2" = "exec -i" ] || { echo "fake kubectl: unexpected: $*" >&2; exit 100; }
pod=$3; shift 3
namespace=default
if [ "$1" = -n ]; then namespace=$2; shift 2; fi
[ "$#" -eq 4 ] && [ "$1 $2 $3" = "-- sh -c" ] || { echo "fake kubectl: unexpected: $*" >&2; exit 100; }
POD=$pod NAMESPACE=$namespace sh -c "$4"
status=$?
[ "$status" -eq 0 ] || echo "command terminated with exit code $status" >&2
exit "$status"
"#;

const IN_POD: &str = include_str!("docs/in-pod.md");

#[test]
fn in_pod_commands_run_through_kubectl_exec() {
    let workspace = Workspace::new();
    workspace.add_program("kubectl", FAKE_KUBECTL);
    let run = workspace.run(IN_POD, &[]);
    let in_pod = |pod: &str, command: &str| {
        let line = line_of(IN_POD, &format!("/ $ {command}"));
        format!("PASS doc.md:{line} (pod {pod}) {command}")
    };
    assert_eq!(
        run.stdout,
        lines(&[
            "doc.md: 6 commands".to_owned(),
            in_pod("client", r#"echo "in $POD of $NAMESPACE" | tr a-z A-Z"#),
            in_pod("client", r#"echo "it's"; echo 'and $NOT expanded'"#),
            in_pod("client", "echo oops >&2; exit 4"),
            pass(IN_POD, "echo back on the host"),
            pass(IN_POD, "TARGET=quote-001"),
            // The pod word as written: the host shell expands it, as it would have.
            in_pod("$TARGET", r#"echo "$POD""#),
            "6 passed, 0 failed".to_owned(),
        ])
    );
    let calls = fs::read_to_string(workspace.path("bin/kubectl.log")).unwrap();
    assert_eq!(
        calls.lines().count(),
        4,
        "the opening commands are not run: {calls}"
    );
    assert!(
        calls.lines().all(|call| call.starts_with("exec -i ")),
        "{calls}"
    );
}

#[test]
fn only_through_stops_after_that_line() {
    let doc = "```console\n$ echo a\na\n$ echo b\nb\n$ false\n```\n";
    let run = Workspace::new().run(doc, &["--only-through", "4"]);
    run.assert_report(
        "doc.md: 3 commands, running those through line 4\n\
         PASS doc.md:2 echo a\n\
         PASS doc.md:4 echo b\n\
         2 passed, 0 failed\n",
        0,
    );
}
