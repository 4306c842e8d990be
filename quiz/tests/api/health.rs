use std::time::{Duration, Instant};

use crate::helpers::{assert_error_starts, spawn_app};

async fn ready(app: &crate::helpers::TestApp) -> (u16, String) {
    let response = app.get("/healthz/ready").await;
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn probes_pass_when_the_database_works() {
    let app = spawn_app().await;
    assert_eq!(ready(&app).await, (200, "ready\n".to_owned()));
    assert_eq!(app.get("/healthz/live").await.status(), 200);
    assert_eq!(app.get("/healthz/startup").await.status(), 200);
}

#[tokio::test]
async fn the_database_directory_is_created() {
    let app = spawn_app().await;
    assert!(app.db_path.is_file(), "{}", app.db_path.display());
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_gone() {
    let app = spawn_app().await;
    let data = app.db_path.parent().unwrap().to_owned();
    let moved = app.dir.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();

    let (status, body) = ready(&app).await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        format!(
            "not ready: the database file {} is not reachable: No such file or directory (os error 2)\n",
            app.db_path.display()
        )
    );
    // Answers are refused rather than written to a file nobody will read again.
    assert_error_starts(
        app.answer(1, 0).await,
        503,
        &format!(
            "could not save the answer: the database file {} is not reachable",
            app.db_path.display()
        ),
    )
    .await;
    // The liveness probe does not depend on the database.
    assert_eq!(app.get("/healthz/live").await.status(), 200);

    std::fs::rename(&moved, &data).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while ready(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.answer(1, 0).await.status(), 200);
}

#[tokio::test]
async fn readiness_fails_when_the_database_file_is_replaced() {
    let app = spawn_app().await;
    let other = app.dir.path().join("other.db");
    std::fs::copy(&app.db_path, &other).unwrap();
    std::fs::rename(&other, &app.db_path).unwrap();
    assert_eq!(
        ready(&app).await,
        (
            503,
            format!(
                "not ready: the database file {} was replaced while the service ran\n",
                app.db_path.display()
            )
        )
    );
    assert_error_starts(app.answer(1, 0).await, 503, "could not save the answer").await;
}
