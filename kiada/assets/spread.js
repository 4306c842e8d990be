// The "Call quote 20 times" control: asks kiada's /spread for JSON and draws one bar
// per pod (and per failure cause) in place, as SVG. Values from the backends are only
// ever set as textContent or as numbers.
"use strict";

(function () {
  const form = document.getElementById("spread-control");
  const result = document.getElementById("spread-result");
  if (!form || !result) {
    return;
  }
  const button = document.getElementById("spread-call");
  const service = document.getElementById("spread-service");
  const calls = document.getElementById("spread-n");
  const SVG = "http://www.w3.org/2000/svg";

  function label() {
    button.textContent = "Call " + service.value + " " + (calls.value || "20") + " times";
  }

  function cell(row, tag, text, className) {
    const element = document.createElement(tag);
    element.textContent = text;
    if (className) {
      element.className = className;
    }
    row.append(element);
    return element;
  }

  function bar(share) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "bar");
    svg.setAttribute("viewBox", "0 0 100 10");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", share + "% of the calls");
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("width", String(share));
    rect.setAttribute("height", "10");
    svg.append(rect);
    return svg;
  }

  function share(count, total) {
    return count === 0 ? 0 : Math.max(1, Math.round((count * 100) / Math.max(total, 1)));
  }

  function addRow(table, kind, name, detail, count, total, median) {
    const row = document.createElement("tr");
    row.className = kind;
    cell(row, "th", name).scope = "row";
    cell(row, "td", detail, "detail");
    cell(row, "td", String(count), "num");
    const barCell = cell(row, "td", "", "bar-cell");
    const percent = share(count, total);
    barCell.append(bar(percent));
    cell(row, "td", percent + "%", "num");
    cell(row, "td", median === null ? "" : "median " + median.toFixed(2) + " ms", "num");
    table.append(row);
  }

  function draw(spread) {
    const summary = document.createElement("p");
    summary.className = "spread-summary";
    summary.id = "spread-summary";
    summary.textContent = spread.calls + " calls to " + spread.service + " (" + spread.url + "). " + spread.summary;
    const table = document.createElement("table");
    table.className = "spread";
    table.id = "spread-rows";
    spread.pods.forEach((pod) => {
      addRow(table, "spread-pod", pod.pod, "node " + pod.node, pod.calls, spread.calls, pod.latencyMs.median);
    });
    spread.errors.forEach((error) => {
      addRow(table, "spread-error", "ERROR", error.cause, error.calls, spread.calls, null);
    });
    const totals = document.createElement("p");
    totals.className = "spread-totals";
    totals.id = "spread-totals";
    const pods = spread.pods.length === 1 ? "1 pod" : spread.pods.length + " pods";
    let line = spread.answered + " of " + spread.calls + " calls answered by " + pods + " in " +
      (spread.elapsedMs / 1000).toFixed(2) + " s.";
    if (spread.latencyMs) {
      const l = spread.latencyMs;
      line += " Latency: min " + l.min.toFixed(2) + " ms, median " + l.median.toFixed(2) + " ms, p90 " +
        l.p90.toFixed(2) + " ms, max " + l.max.toFixed(2) + " ms.";
    }
    totals.textContent = line;
    result.replaceChildren(summary, table, totals);
    result.hidden = false;
  }

  function showError(message) {
    const p = document.createElement("p");
    p.className = "spread-summary error";
    p.id = "spread-summary";
    p.textContent = "ERROR: " + message;
    result.replaceChildren(p);
    result.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const query = new URLSearchParams(new FormData(form)).toString();
      const response = await fetch("/spread?" + query, { headers: { "Accept": "application/json" } });
      const body = await response.json().catch(() => null);
      if (!response.ok) {
        showError(body && typeof body.error === "string" ? body.error : "HTTP " + response.status);
        return;
      }
      draw(body);
    } catch (error) {
      showError("kiada could not be reached: " + error.message);
    } finally {
      button.disabled = false;
    }
  });
  service.addEventListener("change", label);
  calls.addEventListener("input", label);
})();
