// The chat page: send questions without a page load, stream answers (Server-Sent Events), stop.
// Only text is inserted while streaming; the final answer's HTML comes from the server, sanitised.

const transcript = () => document.getElementById("transcript");

function csrfToken(form) {
  return form.querySelector("input[name=csrfmiddlewaretoken]").value;
}

function showErrors(form, errors) {
  const box = form.querySelector("[data-errors]");
  if (box) {
    box.textContent = errors.join(" ");
    box.hidden = false;
  } else {
    window.alert(errors.join("\n"));
  }
}

function replaceWithHtml(article, html) {
  const holder = document.createElement("div");
  holder.innerHTML = html.trim();
  const fresh = holder.firstElementChild;
  article.replaceWith(fresh);
  if (window.htmx) window.htmx.process(fresh);
  return fresh;
}

// Server-Sent Events read with fetch: unlike EventSource, the request ends as the server ends it,
// so a finished answer is a completed request, not an aborted one (and nothing reconnects).
async function* serverEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const lines = buffer.slice(0, end).split("\n");
      buffer = buffer.slice(end + 2);
      const name = lines.find((line) => line.startsWith("event: "))?.slice(7) || "message";
      const data = lines.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
      yield { name, data };
      end = buffer.indexOf("\n\n");
    }
  }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function stream(article) {
  const body = article.querySelector(".msg-body");
  const controller = new AbortController();
  let paragraph = null;
  let finished = false;

  const stopButton = article.querySelector("[data-stop]");
  if (stopButton) {
    stopButton.addEventListener("click", async () => {
      finished = true;
      controller.abort();
      const form = document.querySelector("form[data-ask]");
      await fetch(article.dataset.stopUrl, { method: "POST", headers: { "X-CSRFToken": csrfToken(form) } });
      article.classList.add("status-stopped");
      stopButton.remove();
      const note = document.createElement("p");
      note.className = "muted";
      note.textContent = stopButton.dataset.stoppedLabel || "⏹";
      article.append(note);
    });
  }

  function show(event) {
    if (event.name === "delta") {
      if (!paragraph) {
        body.replaceChildren();
        paragraph = document.createElement("p");
        paragraph.className = "streaming";
        body.append(paragraph);
      }
      paragraph.textContent += JSON.parse(event.data).text;
    } else if (event.name === "done") {
      finished = true;
      const fresh = replaceWithHtml(article, JSON.parse(event.data).html);
      if (fresh.dataset.streamUrl) setTimeout(() => stream(fresh), 1000); // still being written elsewhere
    }
  }

  (async () => {
    // A dropped connection is tried again, as EventSource would: the server answers a finished
    // message with "done" at once.
    for (let attempt = 0; attempt < 5 && !finished; attempt += 1) {
      try {
        const response = await fetch(article.dataset.streamUrl, {
          headers: { Accept: "text/event-stream" },
          signal: controller.signal,
        });
        if (response.status === 503) {
          // The server is busy (too many learners at once): wait as it asks, then try again.
          await pause(1000 * Number(response.headers.get("Retry-After") || 2));
          continue;
        }
        if (!response.ok) return;
        for await (const event of serverEvents(response)) show(event);
      } catch (error) {
        if (finished || controller.signal.aborted) return;
      }
      if (!finished) await pause(1000);
    }
  })();
}

async function ask(form) {
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
  });
  const data = await response.json().catch(() => ({ errors: [response.statusText] }));
  if (!response.ok) {
    showErrors(form, data.errors || [response.statusText]);
    return;
  }
  const onThisDialog = form.classList.contains("composer") && window.location.pathname === data.dialog_url;
  if (!onThisDialog) {
    // A new dialog, an edited question or a retry: the dialog page shows the new transcript.
    window.location.assign(data.dialog_url);
    return;
  }
  const holder = document.createElement("div");
  holder.innerHTML = data.html;
  const articles = [...holder.children];
  transcript().querySelector(".intro")?.remove();
  transcript().append(...articles);
  form.reset();
  form.querySelector("[data-errors]")?.setAttribute("hidden", "");
  articles.filter((a) => a.dataset.streamUrl).forEach(stream);
  articles.at(-1)?.scrollIntoView({ block: "end" });
}

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-ask]");
  if (!form) return;
  event.preventDefault();
  ask(form);
});

// Enter sends, Shift+Enter makes a new line (in the composer).
document.addEventListener("keydown", (event) => {
  const field = event.target.closest(".composer textarea");
  if (field && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    field.form.requestSubmit();
  }
});

document.querySelectorAll("[data-stream-url]").forEach(stream);
