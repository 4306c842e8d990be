use tempfile::TempDir;

use crate::helpers::{NODE, POD, assert_error, spawn_app, spawn_app_with};

#[tokio::test]
async fn root_names_the_pod() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        format!("This is the quiz service running in pod {POD}\n")
    );
}

#[tokio::test]
async fn root_says_unknown_without_pod_info() {
    let app = spawn_app_with(TempDir::new().unwrap(), |config| {
        config.pod = service_kit::PodInfo::default();
    })
    .await;
    let response = app.get("/").await;
    assert_eq!(response.headers()["x-pod-name"], "unknown");
    assert_eq!(response.headers()["x-node-name"], "unknown");
    assert_eq!(
        response.text().await.unwrap(),
        "This is the quiz service running in pod unknown\n"
    );
}

#[tokio::test]
async fn every_answer_carries_identity_and_request_id_headers() {
    let app = spawn_app().await;
    for path in ["/", "/questions/1", "/stats", "/nowhere", "/questions/x"] {
        let response = app
            .client
            .get(app.url(path))
            .header("X-Request-Id", "test-request-42")
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-pod-name"], POD, "{path}");
        assert_eq!(headers["x-node-name"], NODE, "{path}");
        assert_eq!(headers["x-request-id"], "test-request-42", "{path}");
    }
    // Without one, the service makes one up.
    let response = app.get("/").await;
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "{generated}");
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let app = spawn_app().await;
    for path in [
        "/nowhere",
        "/questions",
        "/questions/1/answers/2",
        "/stats/1",
    ] {
        assert_error(app.get(path).await, 404, &format!("no such path: {path}")).await;
    }
}

#[tokio::test]
async fn a_long_unknown_path_is_echoed_cut_short() {
    let app = spawn_app().await;
    let path = format!("/{}", "a".repeat(5000));
    // 200 characters: the slash and 198 letters, then the ellipsis.
    let shown = format!("/{}…", "a".repeat(198));
    assert_error(app.get(&path).await, 404, &format!("no such path: {shown}")).await;
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = spawn_app().await;
    let cases = [
        (reqwest::Method::POST, "/", "GET, HEAD"),
        (reqwest::Method::DELETE, "/", "GET, HEAD"),
        (reqwest::Method::POST, "/questions/random", "GET, HEAD"),
        (reqwest::Method::PUT, "/questions/1", "GET, HEAD"),
        (reqwest::Method::DELETE, "/questions/1", "GET, HEAD"),
        (reqwest::Method::GET, "/questions/1/answers", "POST"),
        (reqwest::Method::PUT, "/questions/1/answers", "POST"),
        (reqwest::Method::POST, "/stats", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_error(
            response,
            405,
            &format!("method {method} is not allowed here; use {allow}"),
        )
        .await;
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    for path in ["/", "/questions/random", "/questions/1", "/stats"] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["x-pod-name"], POD, "{path}");
        assert_eq!(response.bytes().await.unwrap().len(), 0, "{path}");
    }
    let response = app
        .client
        .head(app.url("/questions/999"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}
