use std::collections::BTreeMap;

use super::*;

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
