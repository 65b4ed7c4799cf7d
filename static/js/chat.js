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

function stream(article) {
  const body = article.querySelector(".msg-body");
  const source = new EventSource(article.dataset.streamUrl);
  let paragraph = null;
  let finished = false;

  const stopButton = article.querySelector("[data-stop]");
  if (stopButton) {
    stopButton.addEventListener("click", async () => {
      finished = true;
      source.close();
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

  source.addEventListener("delta", (event) => {
    if (!paragraph) {
      body.replaceChildren();
      paragraph = document.createElement("p");
      paragraph.className = "streaming";
      body.append(paragraph);
    }
    paragraph.textContent += JSON.parse(event.data).text;
  });
  source.addEventListener("done", (event) => {
    finished = true;
    source.close();
    const fresh = replaceWithHtml(article, JSON.parse(event.data).html);
    if (fresh.dataset.streamUrl) setTimeout(() => stream(fresh), 1000); // still being written elsewhere
  });
  source.addEventListener("error", () => {
    // The browser would reconnect; the server answers a finished message with "done" at once.
    if (finished) source.close();
  });
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
