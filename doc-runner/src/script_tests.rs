//! Unit tests of the document format: commands, expected output, pod shells, errors.

use std::time::Duration;

use super::*;

fn commands(doc: &str) -> Vec<Command> {
    parse(doc).expect("a valid document").commands
}

fn problem_at(doc: &str) -> (usize, Problem) {
    let error = parse(doc).expect_err("a format error");
    (error.line, error.problem)
}

#[test]
fn commands_and_their_expected_output() {
    let doc = "\
Prose with `$ not a command`.

```console
$ echo one
one
$ printf 'a\\nb\\n'
a
b

```

```sh
$ echo not run
```
";
    let found = commands(doc);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].line, 4);
    assert_eq!(found[0].text, "echo one");
    assert_eq!(found[0].shell_line, "echo one");
    assert_eq!(found[0].expected, "one");
    assert_eq!(found[0].mode, Mode::Once);
    assert_eq!(found[1].line, 6);
    assert_eq!(found[1].expected, "a\nb\n");
    assert_eq!(found[1].label(), "printf 'a\\nb\\n'");
}

#[test]
fn continuation_lines_are_joined_like_the_shell_does() {
    let doc = "```console\n$ echo a \\\n    b \\\n  c\na b c\n$ true\n```\n";
    let found = commands(doc);
    assert_eq!(found[0].text, "echo a     b   c");
    assert_eq!(found[0].expected, "a b c");
    assert_eq!(found[1].line, 6);
}

#[test]
fn pod_shell_commands_become_kubectl_exec() {
    let doc = "\
```console
$ kubectl exec -it client -n kiada -- sh
/ $ curl http://quiz
This is the quiz service
/ $ exit
$ echo host
host
```
";
    let found = commands(doc);
    assert_eq!(found.len(), 2, "the opening and the exit are not run");
    assert_eq!(found[0].line, 3);
    assert_eq!(found[0].pod.as_deref(), Some("client"));
    assert_eq!(
        found[0].shell_line,
        "kubectl exec -i client -n kiada -- sh -c 'curl http://quiz'"
    );
    assert_eq!(found[0].label(), "(pod client) curl http://quiz");
    assert_eq!(found[0].expected, "This is the quiz service");
    assert_eq!(found[1].pod, None);
}

#[test]
fn a_pod_shell_stays_open_across_blocks_until_a_host_command() {
    let doc = "\
```console
$ kubectl exec -it client -- sh
```

Then, still inside:

```console retry=30
/ $ nslookup quiz
...
```

```console
$ kubectl get pods
...
/ $ ls
```
";
    let error = parse(doc).expect_err("the host command closed the pod shell");
    assert_eq!(error.line, 15);
    assert_eq!(error.problem, Problem::NoOpenPod);
    let upto_get = &doc[..doc.find("/ $ ls").unwrap()];
    let found = commands(&format!("{upto_get}```\n"));
    assert_eq!(
        found[0].shell_line,
        "kubectl exec -i client -- sh -c 'nslookup quiz'"
    );
    assert_eq!(found[0].mode, Mode::Retry(Duration::from_secs(30)));
    assert_eq!(found[1].pod, None);
}

/// Each malformed document, what makes it so, and the line and problem its error names.
#[test]
fn format_errors_name_their_line_and_problem() {
    let cases = [
        (
            "exit closes the pod shell",
            "```console\n$ kubectl exec -it client -- sh\n/ $ exit\n/ $ ls\n```\n",
            4,
            Problem::NoOpenPod,
        ),
        (
            "an in-pod command without an open pod",
            "text\n\n```console\n/ $ curl quiz\n```\n",
            4,
            Problem::NoOpenPod,
        ),
        (
            "the opening command shows no output",
            "```console\n$ kubectl exec -it client -- sh\nsomething\n```\n",
            2,
            Problem::OutputAfterSilentLine("kubectl exec -it client -- sh".into()),
        ),
        (
            "an unknown option names the fence line",
            "# t\n\n```console retyr=5\n$ true\n```\n",
            3,
            Problem::Option(OptionError::Unknown("retyr=5".into())),
        ),
        (
            "output before the first command",
            "```console\n\nhello\n$ true\n```\n",
            3,
            Problem::OutputBeforeCommand,
        ),
        (
            "a continuation at the end of a block",
            "```console\n$ echo \\\n```\n",
            2,
            Problem::ContinuationAtEnd,
        ),
        (
            "a bare prompt",
            "```console\n$  \n```\n",
            2,
            Problem::EmptyCommand,
        ),
    ];
    for (what, doc, line, problem) in cases {
        assert_eq!(problem_at(doc), (line, problem), "{what}");
    }
}

#[test]
fn background_blocks_hold_one_host_command() {
    let good =
        "```console background\n$ kubectl port-forward kiada-001 8080\nForwarding from [..]\n```\n";
    let found = commands(good);
    assert_eq!(found[0].mode, Mode::Background);
    assert_eq!(found[0].expected, "Forwarding from [..]");
    for bad in [
        "```console background\n$ a\n$ b\n```\n",
        "```console background\n```\n",
        "```console background\n$ kubectl exec -it client -- sh\n```\n",
    ] {
        assert_eq!(
            problem_at(bad),
            (1, Problem::BackgroundNotOneCommand),
            "{bad}"
        );
    }
}
