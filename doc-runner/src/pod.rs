//! The shell a reader opens inside a pod: `kubectl exec -it POD -- sh` opens it, and each
//! `/ $ ` command of the document becomes a `kubectl exec -i` that the host shell runs
//! without a terminal.

/// The pod whose shell the reader is typing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSession {
    /// The pod word exactly as the document wrote it (it may be `$POD`).
    pub pod: String,
    /// The `-n` word, when the document gave one.
    pub namespace: Option<String>,
}

impl PodSession {
    /// The session `command` opens, when it has exactly the form
    /// `kubectl exec -it POD [-n NS] -- sh` (`-n NS` before or after the pod).
    pub fn opened_by(command: &str) -> Option<Self> {
        // Split on blanks, not shell words: the pod and namespace words are put back into
        // a command line as written, so the host shell expands `$POD` or `"$NS"` in the
        // in-pod commands exactly as it would have in the opening command.
        let words: Vec<&str> = command.split_whitespace().collect();
        let args = words
            .strip_prefix(&["kubectl", "exec", "-it"][..])?
            .strip_suffix(&["--", "sh"][..])?;
        let (pod, namespace) = match args {
            [pod] => (*pod, None),
            ["-n", namespace, pod] | [pod, "-n", namespace] => (*pod, Some(*namespace)),
            _ => return None,
        };
        let is_word = |word: &str| !word.starts_with('-');
        if !is_word(pod) || !namespace.is_none_or(is_word) {
            return None;
        }
        Some(Self {
            pod: pod.to_owned(),
            namespace: namespace.map(str::to_owned),
        })
    }

    /// The host command line that runs `command` in this pod's shell:
    /// `kubectl exec -i POD [-n NS] -- sh -c 'COMMAND'`. `-i` without `-t`: kubectl
    /// returns the remote exit status and prints `command terminated with exit code N`,
    /// and needs no terminal.
    pub fn command_line(&self, command: &str) -> Result<String, shlex::QuoteError> {
        let quoted = shlex::try_quote(command)?;
        let namespace = self
            .namespace
            .as_ref()
            .map(|namespace| format!(" -n {namespace}"))
            .unwrap_or_default();
        Ok(format!(
            "kubectl exec -i {pod}{namespace} -- sh -c {quoted}",
            pod = self.pod
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(pod: &str, namespace: Option<&str>) -> PodSession {
        PodSession {
            pod: pod.into(),
            namespace: namespace.map(Into::into),
        }
    }

    #[test]
    fn opening_commands() {
        assert_eq!(
            PodSession::opened_by("kubectl exec -it client -- sh"),
            Some(session("client", None))
        );
        assert_eq!(
            PodSession::opened_by("kubectl exec -it -n kiada client -- sh"),
            Some(session("client", Some("kiada")))
        );
        assert_eq!(
            PodSession::opened_by("kubectl  exec -it client -n kiada -- sh "),
            Some(session("client", Some("kiada")))
        );
        assert_eq!(
            PodSession::opened_by("kubectl exec -it $POD -- sh"),
            Some(session("$POD", None))
        );
    }

    #[test]
    fn other_commands_open_nothing() {
        for command in [
            "kubectl exec client -- sh",
            "kubectl exec -i client -- sh",
            "kubectl exec -it client -- bash",
            "kubectl exec -it client -- sh -c 'ls'",
            "kubectl exec -it client -c main -- sh",
            "kubectl exec -it -n client -- sh",
            "kubectl exec -it client -n -- sh",
            "kubectl get pods",
        ] {
            assert_eq!(PodSession::opened_by(command), None, "{command}");
        }
    }

    #[test]
    fn in_pod_command_lines() {
        assert_eq!(
            session("client", None)
                .command_line("curl http://quiz")
                .unwrap(),
            "kubectl exec -i client -- sh -c 'curl http://quiz'"
        );
        assert_eq!(
            session("client", Some("kiada"))
                .command_line("echo $HOSTNAME")
                .unwrap(),
            "kubectl exec -i client -n kiada -- sh -c 'echo $HOSTNAME'"
        );
        assert_eq!(
            session("$POD", None).command_line("ls").unwrap(),
            "kubectl exec -i $POD -- sh -c ls"
        );
    }

    /// The quoting survives a real shell: bash hands the in-pod command to `sh -c`
    /// unchanged, quotes, `$` and all.
    #[test]
    fn quoted_command_reaches_the_pod_unchanged() {
        let command = r#"echo "it's $HOME" 'a\b' | tr a-z A-Z; echo `x`"#;
        let line = session("client", None).command_line(command).unwrap();
        // Stand in for kubectl with a function that prints the sh -c argument.
        let script = format!("kubectl() {{ printf '%s' \"$7\"; }}\n{line}");
        let output = std::process::Command::new("bash")
            .args(["--noprofile", "--norc", "-c", &script])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), command);
    }
}
