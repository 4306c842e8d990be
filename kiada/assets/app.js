// Kiada's page script: checks answers and loads the next question and tip through
// kiada's own /proxy routes. Text from the backends is only ever set as textContent.
// /proxy/quiz forwards only GET questions/random, GET questions/<id>,
// POST questions/<id>/answers and GET stats (kiada/src/backends/proxy.rs): a new call
// to quiz here needs adding there too.
"use strict";

(function () {
  const quiz = document.getElementById("quiz");
  const answers = document.getElementById("answers");
  const questionText = document.getElementById("question-text");
  const result = document.getElementById("result");
  const next = document.getElementById("next-question");
  const tip = document.getElementById("tip");
  const servedBy = document.getElementById("served-by");
  if (!quiz || !answers || !result || !next) {
    return;
  }

  const served = { quote: null, quiz: null };

  function upstream(response) {
    return {
      pod: response.headers.get("X-Upstream-Pod-Name") || "unknown",
      node: response.headers.get("X-Upstream-Node-Name") || "unknown",
    };
  }

  function describe(by, what, service) {
    return by
      ? what + " from " + service + ' pod "' + by.pod + '" on node "' + by.node + '"'
      : "no " + what + " (" + service + " failed)";
  }

  function showServedBy() {
    if (servedBy) {
      servedBy.textContent =
        "Served by: " + describe(served.quote, "tip", "quote") + "; " +
        describe(served.quiz, "question", "quiz") + ".";
    }
  }

  async function readError(response) {
    try {
      const body = await response.json();
      if (body && typeof body.error === "string") {
        return body.error;
      }
    } catch (_) {
      // not JSON: fall through
    }
    return "HTTP " + response.status;
  }

  function setResult(text, kind) {
    result.textContent = text;
    result.className = "result" + (kind ? " " + kind : "");
  }

  function answerButtons() {
    return Array.from(answers.querySelectorAll("button.answer"));
  }

  async function submitAnswer(index) {
    const id = quiz.dataset.questionId;
    if (!id) {
      return;
    }
    const buttons = answerButtons();
    buttons.forEach((button) => { button.disabled = true; });
    setResult("Checking your answer…", "pending");
    try {
      const response = await fetch("/proxy/quiz/questions/" + encodeURIComponent(id) + "/answers", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ questionId: Number(id), answerIndex: index }),
      });
      if (!response.ok) {
        setResult("ERROR: " + (await readError(response)), "error");
        buttons.forEach((button) => { button.disabled = false; });
        return;
      }
      const verdict = await response.json();
      buttons.forEach((button) => {
        const i = Number(button.dataset.index);
        if (i === verdict.correctAnswerIndex) {
          button.classList.add("correct");
        }
        if (i === index) {
          button.classList.add("chosen", verdict.correct ? "correct" : "incorrect");
        }
      });
      if (verdict.correct) {
        setResult("Correct! Well done.", "correct");
      } else {
        const right = buttons.find((b) => Number(b.dataset.index) === verdict.correctAnswerIndex);
        const label = right ? right.querySelector(".answer-text").textContent : "";
        setResult("Incorrect. The correct answer is " + verdict.correctAnswerIndex + ") " + label + ".", "incorrect");
      }
    } catch (error) {
      setResult("ERROR: kiada could not be reached: " + error.message, "error");
      buttons.forEach((button) => { button.disabled = false; });
    }
  }

  function renderQuestion(q) {
    quiz.dataset.questionId = String(q.id);
    questionText.textContent = q.text;
    questionText.className = "question";
    answers.replaceChildren();
    q.answers.forEach((text, index) => {
      const item = document.createElement("li");
      const form = document.createElement("form");
      form.method = "post";
      form.action = "/question/" + q.id + "/answers/" + index;
      const button = document.createElement("button");
      button.type = "submit";
      button.className = "answer";
      button.dataset.index = String(index);
      const number = document.createElement("span");
      number.className = "answer-index";
      number.textContent = String(index);
      const label = document.createElement("span");
      label.className = "answer-text";
      label.textContent = text;
      button.append(number, label);
      form.append(button);
      item.append(form);
      answers.append(item);
    });
    setResult("", "");
  }

  async function loadQuestion() {
    const response = await fetch("/proxy/quiz/questions/random", { headers: { "Accept": "application/json" } });
    if (!response.ok) {
      served.quiz = null;
      quiz.dataset.questionId = "";
      questionText.textContent = "ERROR: " + (await readError(response));
      questionText.className = "question error";
      answers.replaceChildren();
      return;
    }
    served.quiz = upstream(response);
    renderQuestion(await response.json());
  }

  async function loadTip() {
    if (!tip) {
      return;
    }
    const response = await fetch("/proxy/quote", { headers: { "Accept": "application/json" } });
    if (!response.ok) {
      served.quote = null;
      tip.textContent = "ERROR: " + (await readError(response));
      tip.className = "tip error";
      return;
    }
    served.quote = upstream(response);
    tip.textContent = await response.json();
    tip.className = "tip";
  }

  answers.addEventListener("submit", (event) => {
    event.preventDefault();
    const button = event.submitter || event.target.querySelector("button.answer");
    if (button && !button.disabled) {
      submitAnswer(Number(button.dataset.index));
    }
  });

  next.addEventListener("click", async () => {
    next.disabled = true;
    try {
      await Promise.all([loadQuestion(), loadTip()]);
      showServedBy();
    } catch (error) {
      setResult("ERROR: kiada could not be reached: " + error.message, "error");
    } finally {
      next.disabled = false;
    }
  });
})();
