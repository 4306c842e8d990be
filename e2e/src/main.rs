//! `kiada-e2e`: deploys the suite into a fresh namespace of the current kubeconfig's
//! cluster and checks every observable of the Services chapter.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use kiada_e2e::checks::{self, Options};
use kiada_e2e::cluster::{self, Cluster};
use kiada_e2e::manifest;
use kiada_e2e::summary::{CheckResult, Summary};

/// Exit code when something failed, or when there is no cluster.
const FAILED: u8 = 1;
const NO_CLUSTER: u8 = 2;
const USAGE: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "kiada-e2e",
    version,
    about = "Deploys manifests/ into a fresh namespace of the cluster your kubeconfig points to and checks every observable of the Services chapter",
    after_help = after_help()
)]
struct Args {
    /// The kustomize base to deploy (its kustomization.yaml, steps/ and variants/).
    #[arg(long, default_value = "manifests")]
    manifests: PathBuf,
    /// Keep the namespace after the run (to look around with kubectl).
    #[arg(long)]
    keep_namespace: bool,
    /// The namespace is <prefix>-<random>.
    #[arg(long, default_value = "kiada-e2e")]
    namespace_prefix: String,
    /// Bound of each readiness wait (the API connection gives up after 15 s).
    #[arg(long, default_value_t = 240)]
    timeout_seconds: u64,
    /// Run only these checks (repeat, or separate with commas); deploy always runs.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Reach the node ports at this address instead of the node's InternalIP (e.g.
    /// 127.0.0.1 for a kind cluster whose node ports are mapped to the host).
    #[arg(long, value_name = "IP")]
    node_address: Option<String>,
    /// Load and print the objects that would be applied, without a cluster.
    #[arg(long)]
    dry_run: bool,
}

/// The list of checks (from the table that also runs them) and how a run behaves.
fn after_help() -> String {
    format!(
        "{}\nThe cluster comes from KUBECONFIG / ~/.kube/config (current context). The images kiada-suite/{{kiada,quote,quiz,toolbox}}:0.1.0 must be on the nodes (kind load docker-image, or ctr images import of images/oci-archives output).\nOutput: progress on stderr; on stdout one line per check (PASS name / FAIL name: reason / SKIP name: reason, for a check that cannot apply to this cluster) and the line `N passed, M failed` (then `, K skipped` if any). Exit status 0 only if no check failed; 2 when no cluster is reachable.",
        checks::help()
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The names and the manifests are checked first: a broken base needs no cluster to
    // be found.
    let prepared = checks::validate_only(&args.only)
        .map_err(anyhow::Error::msg)
        .and_then(|()| manifest::namespace_name(&args.namespace_prefix, &manifest::random_suffix()))
        .and_then(|namespace| {
            let objects = checks::describe_objects(&args.manifests, &namespace)?;
            Ok((namespace, objects))
        });
    let (namespace, objects) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("kiada-e2e: {error:#}");
            return ExitCode::from(USAGE);
        }
    };
    if args.dry_run {
        print!("{objects}");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("kiada-e2e: starting the async runtime: {error}");
            return ExitCode::from(FAILED);
        }
    };
    let code = runtime.block_on(run(args, namespace));
    // Background port-forward and exec tasks must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn run(args: Args, namespace: String) -> ExitCode {
    let (client, server, version) = match cluster::connect(Duration::from_secs(15)).await {
        Ok(connected) => connected,
        Err(error) => {
            let reason = format!("no usable Kubernetes cluster: {error:#}");
            eprintln!("kiada-e2e: {reason}");
            eprintln!(
                "kiada-e2e: point KUBECONFIG (or the current context) at a running cluster, e.g. one made with `kind create cluster`, and try again"
            );
            let results = vec![CheckResult::fail("cluster", reason)];
            let summary = Summary { results };
            print!("{}", summary.render());
            return ExitCode::from(NO_CLUSTER);
        }
    };
    eprintln!("[e2e] cluster {server} (Kubernetes {version}); namespace {namespace}");
    let cluster = Arc::new(Cluster::new(client, namespace.clone(), server));
    let summary = Arc::new(Mutex::new(Summary::default()));
    let options = Options {
        manifests_dir: args.manifests.clone(),
        timeout: Duration::from_secs(args.timeout_seconds.max(10)),
        only: args.only.clone(),
        node_address: args.node_address.clone(),
    };
    // The checks run in their own task, so a panic or Ctrl-C still reaches the
    // diagnostics and the cleanup below.
    let task = {
        let cluster = cluster.clone();
        let summary = summary.clone();
        tokio::spawn(async move { checks::run(&cluster, &options, summary).await })
    };
    let abort = task.abort_handle();
    let outcome = tokio::select! {
        joined = task => match joined {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("{error:#}")),
            Err(error) if error.is_panic() => Some(format!("the suite panicked: {error}")),
            Err(error) => Some(format!("the suite stopped: {error}")),
        },
        signal = stop_signal() => {
            abort.abort();
            Some(format!("interrupted ({signal})"))
        }
    };
    let mut summary = summary.lock().map(|s| s.clone()).unwrap_or_default();
    if let Some(reason) = outcome {
        summary.push(CheckResult::fail("run", reason));
    }
    let api_alive =
        tokio::time::timeout(Duration::from_secs(10), cluster.client.apiserver_version())
            .await
            .is_ok_and(|answer| answer.is_ok());
    if !summary.all_passed() {
        if api_alive {
            eprintln!("{}", cluster.diagnostics().await);
        } else {
            eprintln!("[e2e] no diagnostics: the API server is not answering");
        }
    }
    if args.keep_namespace {
        eprintln!(
            "[e2e] keeping namespace {namespace} (delete it with: kubectl delete namespace {namespace})"
        );
    } else if !api_alive {
        eprintln!(
            "[e2e] cannot delete namespace {namespace}: the API server is not answering (delete it later: kubectl delete namespace {namespace})"
        );
    } else {
        eprintln!("[e2e] deleting namespace {namespace}");
        let cleanup = tokio::select! {
            result = cluster.delete_namespace(Duration::from_secs(120)) => result,
            signal = stop_signal() => Err(anyhow::anyhow!("cleanup interrupted ({signal})")),
        };
        if let Err(error) = cleanup {
            eprintln!("[e2e] cleanup: {error:#}");
        }
    }
    println!();
    print!("{}", summary.render());
    if summary.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM, naming the signal.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            std::future::pending::<()>().await;
            unreachable!()
        };
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
