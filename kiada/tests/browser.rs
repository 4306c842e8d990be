//! kiada's HTML page in a real browser: headless Chromium driven through chromedriver
//! (fantoccini), against the real quote, quiz and kiada servers on 127.0.0.1: answering
//! questions, then the spread control in front of three quote pods.
//!
//! Needs Debian's `chromium` and `chromium-driver`; ignored by default so that
//! `cargo test --workspace` passes without them. Run with
//! `cargo test -p kiada --test browser -- --ignored`: then a missing chromedriver or
//! Chromium fails the test. `CHROMEDRIVER` and `CHROME_BIN` override the binaries.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use kiada_testkit::balancer::Balancer;
use kiada_testkit::suite::*;

/// Longest wait for anything in the browser.
const WAIT: Duration = Duration::from_secs(15);

fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn chromedriver_path() -> PathBuf {
    std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find_in_path("chromedriver"))
        .expect(
            "chromedriver not found (set CHROMEDRIVER or install Debian's chromium-driver: \
             apt-get install -y chromium chromium-driver)",
        )
}

fn chrome_binary() -> PathBuf {
    std::env::var_os("CHROME_BIN")
        .map(PathBuf::from)
        .or_else(|| find_in_path("chromium"))
        .expect("Chromium not found (set CHROME_BIN or install Debian's chromium)")
}

/// chromedriver, killed when the test ends.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_chromedriver(path: &Path) -> Driver {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let driver = Driver { child, port };
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on port {port} within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

/// chromedriver's log endpoint (the browser console), which fantoccini does not wrap.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

async fn connect(driver: &Driver, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chrome_binary(),
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1200,900",
                // Belt and braces: no name resolves, so only 127.0.0.1 is reachable.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    capabilities.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({ "browser": "ALL" }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromedriver session with headless Chromium")
}

/// Waits (bounded) until `probe` returns `Some`.
async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn question_id(client: &Client) -> String {
    let quiz = client.find(Locator::Id("quiz")).await.unwrap();
    attribute(&quiz, "data-question-id").await
}

/// An attribute of `element`, empty when it has none.
async fn attribute(element: &Element, name: &str) -> String {
    element.attr(name).await.unwrap().unwrap_or_default()
}

const QUESTIONS: [(u64, &str, [&str; 3], usize); 3] = [
    (
        11,
        "Which command shows the cluster IP of the Service quote?",
        [
            "kubectl get svc quote",
            "kubectl logs quote",
            "kubectl top svc quote",
        ],
        0,
    ),
    (
        12,
        "Which Service field keeps a client on the same pod?",
        ["spec.selector", "spec.sessionAffinity", "spec.clusterIP"],
        1,
    ),
    (
        13,
        "Which port does the quiz Service expose?",
        ["8080", "443", "80"],
        2,
    ),
];

#[tokio::test]
#[ignore = "needs chromium and chromium-driver; run with --ignored"]
async fn answer_a_question_in_headless_chromium() {
    // Fail fast (not pass) when the browser tooling is missing.
    let driver_path = chromedriver_path();
    let _ = chrome_binary();

    let questions = serde_json::Value::Array(
        QUESTIONS
            .iter()
            .map(|(id, text, answers, correct)| {
                serde_json::json!({
                    "id": id, "text": text, "answers": answers, "correctAnswerIndex": correct
                })
            })
            .collect(),
    )
    .to_string();
    let suite = spawn_suite_with(TIP, &questions).await;
    let driver = start_chromedriver(&driver_path);
    let profile = tempfile::tempdir().unwrap();
    let client = connect(&driver, profile.path()).await;

    let spread_pods = spawn_spread_pods().await;

    let result = match run_scenario(&client, &suite).await {
        Ok(()) => spread_scenario(&client, &spread_pods.kiada).await,
        failed => failed,
    };
    // Always end the browser session, then report.
    let logs = client.issue_cmd(BrowserLog).await;
    // Proof that the console log is really read: an error logged now must show up.
    let probe = async {
        client
            .execute("console.error('kiada-console-probe')", Vec::new())
            .await
            .map_err(|e| e.to_string())?;
        client
            .issue_cmd(BrowserLog)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    let screenshot = client.screenshot().await;
    let _ = client.close().await;
    if let Ok(png) = screenshot {
        let path = std::env::temp_dir().join("kiada-browser-test.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot: {}", path.display());
    }
    result.unwrap();

    let probe = probe.expect("the browser console log after the probe");
    assert!(
        probe.to_string().contains("kiada-console-probe"),
        "the console probe was not seen in {probe}"
    );
    let logs = logs.expect("the browser console log");
    let entries = logs.as_array().expect("log entries").clone();
    let problems: Vec<_> = entries
        .iter()
        .filter(|entry| {
            let level = entry["level"].as_str().unwrap_or_default();
            level == "SEVERE" || level == "WARNING"
        })
        .collect();
    assert!(problems.is_empty(), "browser console: {problems:#?}");
}

async fn run_scenario(client: &Client, suite: &Suite) -> Result<(), String> {
    client
        .goto(&format!("{}/html", suite.kiada.address))
        .await
        .map_err(|e| e.to_string())?;

    // The server-rendered page: tip, question, request info.
    assert_eq!(text_of(client, "#tip").await, TIP);
    assert_eq!(text_of(client, "#pod-name").await, KIADA_POD);
    assert_eq!(text_of(client, "#client-ip").await, "127.0.0.1");
    let first_id = question_id(client).await;
    let (_, text, answers, correct) = QUESTIONS
        .iter()
        .find(|(id, ..)| id.to_string() == first_id)
        .unwrap_or_else(|| panic!("unknown question id {first_id:?}"));
    assert_eq!(text_of(client, "#question-text").await, *text);
    let buttons = client
        .find_all(Locator::Css("#answers button.answer"))
        .await
        .unwrap();
    assert_eq!(buttons.len(), answers.len());

    // A wrong answer: marked incorrect, the right one marked correct.
    let wrong = (correct + 1) % answers.len();
    buttons[wrong].click().await.map_err(|e| e.to_string())?;
    let result = wait_for("the verdict", || async {
        let text = text_of(client, "#result").await;
        (!text.is_empty() && !text.starts_with("Checking")).then_some(text)
    })
    .await;
    assert_eq!(
        result,
        format!(
            "Incorrect. The correct answer is {correct}) {}.",
            answers[*correct]
        )
    );
    let class_of = |index: usize| {
        let button = buttons[index].clone();
        async move { attribute(&button, "class").await }
    };
    assert_eq!(class_of(wrong).await, "answer chosen incorrect");
    assert_eq!(class_of(*correct).await, "answer correct");
    assert_eq!(
        buttons[*correct].prop("disabled").await.unwrap().as_deref(),
        Some("true")
    );

    // Next question (random: bounded retries until another one comes up), then the right
    // answer to it.
    let next = client
        .find(Locator::Id("next-question"))
        .await
        .map_err(|e| e.to_string())?;
    let mut next_id = first_id.clone();
    for _ in 0..20 {
        next.click().await.map_err(|e| e.to_string())?;
        next_id = wait_for("the next question", || async {
            let id = question_id(client).await;
            let result = text_of(client, "#result").await;
            let fresh = client
                .find_all(Locator::Css("#answers button.answer.chosen"))
                .await
                .unwrap()
                .is_empty();
            (result.is_empty() && fresh && !id.is_empty()).then_some(id)
        })
        .await;
        if next_id != first_id {
            break;
        }
    }
    assert_ne!(next_id, first_id, "the next question never changed");
    let (_, text, answers, correct) = QUESTIONS
        .iter()
        .find(|(id, ..)| id.to_string() == next_id)
        .unwrap();
    assert_eq!(text_of(client, "#question-text").await, *text);
    // The tip and the served-by line were reloaded through /proxy/quote.
    assert_eq!(text_of(client, "#tip").await, TIP);
    assert_eq!(
        text_of(client, "#served-by").await,
        format!(
            "Served by: tip from quote pod \"{QUOTE_POD}\" on node \"{QUOTE_NODE}\"; \
             question from quiz pod \"{QUIZ_POD}\" on node \"{QUIZ_NODE}\"."
        )
    );
    let buttons = client
        .find_all(Locator::Css("#answers button.answer"))
        .await
        .unwrap();
    assert_eq!(buttons.len(), answers.len());
    buttons[*correct].click().await.map_err(|e| e.to_string())?;
    let result = wait_for("the second verdict", || async {
        let text = text_of(client, "#result").await;
        (!text.is_empty() && !text.starts_with("Checking")).then_some(text)
    })
    .await;
    assert_eq!(result, "Correct! Well done.");
    assert_eq!(
        buttons[*correct].attr("class").await.unwrap().as_deref(),
        Some("answer correct chosen")
    );

    // quiz recorded both answers, one of them correct.
    let stats = quiz_stats(&suite.quiz).await;
    assert_eq!(stats["totals"]["answers"], 2, "{stats}");
    assert_eq!(stats["totals"]["correct"], 1, "{stats}");
    Ok(())
}

/// kiada in front of three quote pods behind a round-robin balancer (a Service's
/// stand-in), for the spread control.
struct SpreadPods {
    kiada: KiadaApp,
    _balancer: Balancer,
    _backends: Vec<Backend>,
}

async fn spawn_spread_pods() -> SpreadPods {
    let mut backends = Vec::new();
    for pod in ["quote-a", "quote-b", "quote-c"] {
        backends.push(spawn_quote_pod(pod, "node-1", TIP).await);
    }
    let ports: Vec<u16> = backends.iter().map(|quote| quote.port).collect();
    let balancer = Balancer::round_robin(&ports).await;
    let quiz = spawn_test_quiz().await;
    let kiada = spawn_kiada(kiada_config(&[
        ("QUOTE_URL", &balancer.url("/quote")),
        ("QUIZ_URL", &quiz.url),
    ]))
    .await;
    backends.push(quiz);
    SpreadPods {
        kiada,
        _balancer: balancer,
        _backends: backends,
    }
}

/// The pod names of the bars drawn, once the script has drawn `expected` of them.
async fn drawn_bars(client: &Client, expected: usize) -> Vec<String> {
    let rows = wait_for("the spread bars", || async {
        let rows = client
            .find_all(Locator::Css("#spread-rows tr.spread-pod"))
            .await
            .unwrap();
        (rows.len() == expected).then_some(rows)
    })
    .await;
    let mut pods = Vec::new();
    for row in rows {
        let name = row
            .find(Locator::Css("th"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let bar = row.find(Locator::Css("svg.bar rect")).await.unwrap();
        let width = attribute(&bar, "width").await;
        pods.push(format!("{name} {width}"));
    }
    pods
}

async fn spread_scenario(client: &Client, kiada: &KiadaApp) -> Result<(), String> {
    client
        .goto(&format!("{}/html", kiada.address))
        .await
        .map_err(|e| e.to_string())?;
    let call = client
        .find(Locator::Id("spread-call"))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(call.text().await.unwrap(), "Call quote 20 times");
    // A new connection per call: one bar per pod. The balancer hands out connections in
    // turn (the page's own tip call took one), so the shares are 35, 35 and 30 of 100.
    call.click().await.map_err(|e| e.to_string())?;
    let bars = drawn_bars(client, 3).await;
    let names: Vec<&str> = bars
        .iter()
        .map(|bar| bar.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["quote-a", "quote-b", "quote-c"]);
    let mut widths: Vec<&str> = bars
        .iter()
        .map(|bar| bar.split(' ').nth(1).unwrap())
        .collect();
    widths.sort_unstable();
    assert_eq!(widths, ["30", "35", "35"], "{bars:?}");
    let summary = text_of(client, "#spread-summary").await;
    assert!(
        summary.starts_with("20 calls to quote (http://127.0.0.1:")
            && summary.ends_with(
                "/quote). Each of the 20 calls opened a new connection, so the Service chose \
                 a pod for every call."
            ),
        "{summary}"
    );
    // The bars in view, for a screenshot to look at.
    let _ = client
        .execute(
            "document.getElementById('spread-card').scrollIntoView()",
            Vec::new(),
        )
        .await;
    if let Ok(png) = client.screenshot().await {
        let path = std::env::temp_dir().join("kiada-browser-spread.png");
        let _ = std::fs::write(&path, png);
        eprintln!("screenshot of the spread bars: {}", path.display());
    }
    // One kept-alive connection: every call on one pod, drawn without a reload.
    client
        .find(Locator::Id("spread-reuse"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    call.click().await.map_err(|e| e.to_string())?;
    let bars = drawn_bars(client, 1).await;
    assert_eq!(bars.len(), 1);
    assert!(bars[0].ends_with(" 100"), "{bars:?}");
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/html",
        "the page was not reloaded"
    );
    Ok(())
}
