use std::collections::BTreeMap;

use super::*;

const PAGE: &str = "KUBERNETES IN ACTION DEMO APPLICATION v0.1.0

==== TIP OF THE MINUTE
Use kubectl explain pod.spec to read the docs offline.

==== POP QUIZ
Which object gives a set of pods one stable address?
0) A ConfigMap
1) A Service
2) A Secret

Submit your answer to /question/7/answers/<index of answer> using the POST method.

==== REQUEST INFO
Request processed by Kiada 0.1.0 running in pod \"kiada-001\" on node \"kind-control-plane\".
Pod hostname: kiada-001; Pod IP: 10.244.0.12; Node IP: 172.18.0.2; Client IP: 127.0.0.1
Served by: tip from quote pod \"quote-002\" on node \"kind-control-plane\"; question from quiz pod \"quiz\" on node \"kind-control-plane\".
This is the stable release of Kiada.

HTML version of this content is available at /html
";
#[test]
fn parses_the_text_page() {
    let page = TextPage::parse(PAGE).unwrap();
    assert_eq!(page.title, "KUBERNETES IN ACTION DEMO APPLICATION v0.1.0");
    assert_eq!(
        page.tip,
        "Use kubectl explain pod.spec to read the docs offline."
    );
    assert_eq!(
        page.question,
        "Which object gives a set of pods one stable address?"
    );
    assert_eq!(page.answers, ["A ConfigMap", "A Service", "A Secret"]);
    assert_eq!(page.question_id, Some(7));
    assert_eq!(page.pod_name.as_deref(), Some("kiada-001"));
    assert_eq!(page.node_name.as_deref(), Some("kind-control-plane"));
    assert_eq!(page.hostname.as_deref(), Some("kiada-001"));
    assert_eq!(page.pod_ip.as_deref(), Some("10.244.0.12"));
    assert_eq!(page.node_ip.as_deref(), Some("172.18.0.2"));
    assert_eq!(page.client_ip.as_deref(), Some("127.0.0.1"));
    assert!(page.errors.is_empty());
    let served_by = page.served_by.unwrap();
    assert_eq!(
        served_by.tip,
        Some(ServedBy {
            service: "quote".into(),
            pod: "quote-002".into(),
            node: "kind-control-plane".into()
        })
    );
    assert_eq!(
        served_by.question,
        Some(ServedBy {
            service: "quiz".into(),
            pod: "quiz".into(),
            node: "kind-control-plane".into()
        })
    );
}

#[test]
fn served_by_lines() {
    // A failed backend: its part names no pod.
    let line = ServedByLine::parse(
        "no tip (quote failed); question from quiz pod \"quiz\" on node \"kiada-worker2\".",
    );
    assert_eq!(line.tip, None);
    assert_eq!(line.question.unwrap().node, "kiada-worker2");
    let line = ServedByLine::parse(
        "tip from quote pod \"quote-001\" on node \"w1\"; no question (quiz failed).",
    );
    assert_eq!(line.tip.unwrap().pod, "quote-001");
    assert_eq!(line.question, None);
    // Without pod and node, nothing is taken.
    assert_eq!(
        ServedByLine::parse("tip from quote pod; question from nowhere"),
        ServedByLine::default()
    );
    // No Served-by line on the page: None, not an empty line.
    let page = TextPage::parse(&PAGE.replace("Served by:", "Sent by:")).unwrap();
    assert_eq!(page.served_by, None);
}

#[test]
fn text_page_with_backend_errors() {
    let page = TextPage::parse(
        "TITLE v1\n\n==== TIP OF THE MINUTE\nERROR: quote: connection refused\n\n==== POP QUIZ\nERROR: quiz: timed out\n\n==== REQUEST INFO\nRequest processed by Kiada 1 running in pod \"p\" on node \"n\".\n",
    )
    .unwrap();
    assert_eq!(page.errors.len(), 2);
    assert!(page.answers.is_empty());
    assert_eq!(page.question_id, None);
    assert_eq!(page.pod_name.as_deref(), Some("p"));
    assert!(TextPage::parse("").is_err());
    assert!(TextPage::parse("TITLE\n==== TIP OF THE MINUTE\nx\n").is_err());
}

#[test]
fn identity_lines() {
    assert_eq!(
        quote_identity("This is the quote service running in pod quote-001 on node kiada-node\n"),
        Some(("quote-001".into(), "kiada-node".into()))
    );
    assert_eq!(quote_identity("hello"), None);
    assert_eq!(
        quiz_identity("This is the quiz service running in pod quiz\n"),
        Some("quiz".into())
    );
    assert_eq!(
        quiz_identity("This is the quote service running in pod x"),
        None
    );
}

#[test]
fn resolv_conf() {
    let conf = ResolvConf::parse(
        "search e2e-1.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
    );
    assert_eq!(conf.nameservers, ["10.96.0.10"]);
    assert_eq!(conf.options, ["ndots:5"]);
    assert_eq!(
        conf.cluster_domain("e2e-1").as_deref(),
        Some("cluster.local")
    );
    assert!(conf.has_kubernetes_search("e2e-1", "cluster.local"));
    assert!(!conf.has_kubernetes_search("other", "cluster.local"));
    let custom =
        ResolvConf::parse("search ns.svc.corp.example svc.corp.example corp.example lan\n");
    assert_eq!(custom.cluster_domain("ns").as_deref(), Some("corp.example"));
    assert!(custom.has_kubernetes_search("ns", "corp.example"));
    assert_eq!(ResolvConf::parse("").cluster_domain("ns"), None);
}

#[test]
fn service_environment() {
    let expected = expected_service_env(
        "quiz",
        "10.96.5.6",
        &[EnvPort {
            name: Some("http".into()),
            port: 80,
            protocol: "TCP".into(),
        }],
    );
    let want: BTreeMap<String, String> = [
        ("QUIZ_SERVICE_HOST", "10.96.5.6"),
        ("QUIZ_SERVICE_PORT", "80"),
        ("QUIZ_SERVICE_PORT_HTTP", "80"),
        ("QUIZ_PORT", "tcp://10.96.5.6:80"),
        ("QUIZ_PORT_80_TCP", "tcp://10.96.5.6:80"),
        ("QUIZ_PORT_80_TCP_PROTO", "tcp"),
        ("QUIZ_PORT_80_TCP_PORT", "80"),
        ("QUIZ_PORT_80_TCP_ADDR", "10.96.5.6"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(expected, want);

    let env = parse_env(
        "PATH=/bin\nQUIZ_SERVICE_HOST=10.96.5.6\nQUIZ_SERVICE_PORT=8080\nHOSTNAME=client\nnot a var\nA=b=c\n",
    );
    assert_eq!(env["A"], "b=c");
    let mismatches = env_mismatches(&env, &want);
    assert!(mismatches.contains(&"QUIZ_SERVICE_PORT=8080, expected 80".to_owned()));
    assert!(mismatches.contains(&"QUIZ_PORT is missing".to_owned()));
    assert!(
        !mismatches
            .iter()
            .any(|m| m.starts_with("QUIZ_SERVICE_HOST"))
    );

    let links = service_link_vars(&env, &["quiz", "quote", "kiada-x"]);
    assert_eq!(links, ["QUIZ_SERVICE_HOST", "QUIZ_SERVICE_PORT"]);
    let none = parse_env("KUBERNETES_SERVICE_HOST=10.96.0.1\nQUIZ_URL=http://quiz\n");
    assert!(service_link_vars(&none, &["quiz", "quote", "kiada"]).is_empty());
    assert!(expected_service_env("x", "1.2.3.4", &[]).is_empty());
}

#[test]
fn html_assets() {
    let html = r#"<html><head><link rel="stylesheet" href="/static/style.css"><link rel="icon" href="/favicon.ico"></head>
<body><img src="/static/cover.png"><a href="/text">text</a><a href="https://example.org/">x</a><a href="//cdn/x">y</a>
<script src="/static/app.js"></script><a href="/proxy/quote">q</a></body></html>"#;
    assert_eq!(
        html_asset_paths(html),
        [
            "/favicon.ico",
            "/static/app.js",
            "/static/cover.png",
            "/static/style.css",
            "/text"
        ]
    );
}
