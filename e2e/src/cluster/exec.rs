//! Commands in a pod through the API server's exec (as `kubectl exec` does), bounded in
//! time, optionally handing each output line over as it arrives.

use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use kube::api::AttachParams;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use super::{Cluster, api_error, within};

impl Cluster {
    /// Runs `sh -c script` in a pod's first container through the API (as `kubectl
    /// exec` does) and returns its standard output; fails on a timeout, a non-zero
    /// exit status (with stderr) or an API error.
    pub async fn exec(&self, pod: &str, script: &str, timeout: Duration) -> Result<String> {
        self.exec_bounded(pod, script, timeout, None).await
    }

    /// Like [`Cluster::exec`], and meanwhile appends each line of standard output to
    /// `lines` as it arrives, with the time it arrived: a caller running alongside
    /// sees how far the command has got.
    pub async fn exec_lines(
        &self,
        pod: &str,
        script: &str,
        timeout: Duration,
        lines: &StdMutex<Vec<(Instant, String)>>,
    ) -> Result<String> {
        self.exec_bounded(pod, script, timeout, Some(lines)).await
    }

    async fn exec_bounded(
        &self,
        pod: &str,
        script: &str,
        timeout: Duration,
        lines: Option<&StdMutex<Vec<(Instant, String)>>>,
    ) -> Result<String> {
        let exec = async {
            // kube's defaults: stdout and stderr, no stdin, no tty.
            let params = AttachParams::default();
            let started = self.pods().exec(pod, ["sh", "-c", script], &params).await;
            let mut attached = started.map_err(api_error)?;
            let mut stdout = attached
                .stdout()
                .ok_or_else(|| anyhow!("no stdout stream"))?;
            let mut stderr = attached
                .stderr()
                .ok_or_else(|| anyhow!("no stderr stream"))?;
            let status = attached.take_status();
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let read_stdout = async {
                let Some(sink) = lines else {
                    return stdout.read_to_end(&mut out).await.map(drop);
                };
                let mut reader = tokio::io::BufReader::new(&mut stdout).lines();
                while let Some(line) = reader.next_line().await? {
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                    sink.lock()
                        .map_err(|_| std::io::Error::other("the line buffer is poisoned"))?
                        .push((Instant::now(), line));
                }
                Ok(())
            };
            let (read_out, read_err) = tokio::join!(read_stdout, stderr.read_to_end(&mut err));
            read_out?;
            read_err?;
            let status = match status {
                Some(status) => status.await,
                None => None,
            };
            let _ = attached.join().await;
            let out = String::from_utf8_lossy(&out).into_owned();
            if let Some(status) = status
                && status.status.as_deref() == Some("Failure")
            {
                bail!(
                    "command failed ({}): {}{}",
                    status.message.unwrap_or_default(),
                    String::from_utf8_lossy(&err).trim(),
                    if out.trim().is_empty() {
                        String::new()
                    } else {
                        format!(" (stdout: {})", out.trim())
                    }
                );
            }
            Ok::<_, anyhow::Error>(out)
        };
        let what = format!("exec in pod {pod} did not finish");
        within(timeout, what, exec)
            .await?
            .with_context(|| format!("exec in pod {pod}"))
    }
}
