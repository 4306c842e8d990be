use kiada_testkit::suite::*;

#[tokio::test]
async fn a_correct_answer_is_confirmed() {
    let suite = spawn_suite().await;
    assert_eq!(
        answer(&suite, CORRECT_INDEX).await,
        format!(
            "Question {QUESTION_ID}: {QUESTION_TEXT}\n\
             Your answer: {CORRECT_INDEX}) {}\n\
             Correct! Well done.\n",
            ANSWERS[CORRECT_INDEX]
        )
    );
}

#[tokio::test]
async fn a_wrong_answer_names_the_correct_one() {
    let suite = spawn_suite().await;
    assert_eq!(
        answer(&suite, 0).await,
        format!(
            "Question {QUESTION_ID}: {QUESTION_TEXT}\n\
             Your answer: 0) {}\n\
             Incorrect. The correct answer is {CORRECT_INDEX}) {}.\n",
            ANSWERS[0], ANSWERS[CORRECT_INDEX]
        )
    );
    // quiz recorded both posted answers... here, the one.
    let stats = quiz_stats(&suite.quiz).await;
    assert_eq!(stats["totals"]["answers"], 1, "{stats}");
    assert_eq!(stats["totals"]["correct"], 0, "{stats}");
}

#[tokio::test]
async fn bad_answers_get_clear_client_errors() {
    let suite = spawn_suite().await;
    // Malformed: kiada's own verdict, before asking quiz.
    for (path, status, message) in [
        (
            "/question/seven/answers/1".to_owned(),
            400,
            "ERROR: the question id must be a whole number, not \"seven\".\n",
        ),
        (
            format!("/question/{QUESTION_ID}/answers/-1"),
            400,
            "ERROR: the answer index must be a whole number from 0, not \"-1\".\n",
        ),
    ] {
        let response = suite.kiada.post(&path).await;
        assert_eq!(response.status().as_u16(), status, "POST {path}");
        assert_eq!(response.text().await.unwrap(), message, "POST {path}");
    }

    // Out of range and unknown question: quiz's verdict, passed on.
    for (path, status) in [
        (format!("/question/{QUESTION_ID}/answers/3"), 400),
        ("/question/999/answers/0".to_owned(), 404),
    ] {
        let response = suite.kiada.post(&path).await;
        assert_eq!(response.status().as_u16(), status, "POST {path}");
        let body = response.text().await.unwrap();
        assert!(
            body.starts_with("ERROR: the quiz service rejected the answer: "),
            "POST {path}: {body}"
        );
    }

    let response = suite
        .kiada
        .get(&format!("/question/{QUESTION_ID}/answers/0"))
        .await;
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST");
}

#[tokio::test]
async fn answering_while_quiz_is_down_says_so() {
    let quiz_url = refused_url("");
    let kiada = spawn_kiada(kiada_config(&[("QUIZ_URL", &quiz_url)])).await;
    let response = kiada.post("/question/1/answers/0").await;
    assert_eq!(response.status().as_u16(), 502);
    let body = response.text().await.unwrap();
    assert!(
        body.starts_with(&format!(
            "ERROR: quiz service ({quiz_url}/questions/1/answers) could not be reached: "
        )),
        "{body}"
    );
}

/// kiada's answer to `POST /question/<the test question>/answers/<index>`, which must
/// be a 200.
async fn answer(suite: &Suite, index: usize) -> String {
    let response = suite
        .kiada
        .post(&format!("/question/{QUESTION_ID}/answers/{index}"))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.unwrap()
}
