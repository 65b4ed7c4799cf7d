// The example editor: click a message to edit it in place; Enter saves, Shift+Enter starts a new
// line, Esc or Cancel puts the text back. htmx sends the forms and swaps what changed; this file
// opens and closes the editors and lets htmx show the conflict (409) and problem (400) notices,
// which it would otherwise drop as errors.

const editor = () => document.querySelector("[data-editor]");
const notice = () => document.getElementById("example-notice");

function editorOf(element) {
  return element.closest(".example-message")?.querySelector(":scope > details[data-edit]");
}

function focusText(details) {
  const textarea = details.querySelector("textarea");
  if (!textarea) return;
  textarea.focus();
  textarea.setSelectionRange(textarea.value.length, textarea.value.length);
}

function showNotice(text) {
  const box = notice();
  if (!box) return;
  const paragraph = document.createElement("p");
  paragraph.className = "problem";
  paragraph.textContent = text;
  box.replaceChildren(paragraph);
  box.scrollIntoView({ block: "nearest" });
}

// Click (or Enter or Space on) a message's text, a button named "Edit message n" whose description
// is the text: its editor opens in place of the text.
document.addEventListener("click", (event) => {
  const body = event.target.closest("[data-edit-open]");
  if (!body || event.target.closest("a")) return;
  const details = editorOf(body);
  if (details) details.open = true;
});
document.addEventListener("keydown", (event) => {
  const body = event.target.closest?.("[data-edit-open]");
  if (body && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    const details = editorOf(body);
    if (details) details.open = true;
  }
});

// "toggle" does not bubble: listen while it goes down.
document.addEventListener(
  "toggle",
  (event) => {
    const details = event.target;
    if (!(details instanceof HTMLDetailsElement) || !details.matches("[data-edit]")) return;
    if (details.open) focusText(details);
    else details.querySelector("form")?.reset(); // Cancel: the text as it was
  },
  true,
);

// Cancel is a reset button: it closes the editor too.
document.addEventListener("reset", (event) => {
  const details = event.target.closest("details[data-edit]");
  if (details) details.open = false;
});

document.addEventListener("keydown", (event) => {
  const textarea = event.target.closest?.("textarea[data-enter-submits]");
  if (!textarea) return;
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    textarea.form.requestSubmit();
  } else if (event.key === "Escape") {
    event.preventDefault();
    textarea.closest("details").open = false;
  }
});

// "Learn from this answer" applies as soon as it is ticked (selects do so in gradcap.js).
document.addEventListener("change", (event) => {
  const box = event.target.closest("input[type=checkbox][data-autosubmit]");
  if (box) box.form.requestSubmit();
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-dismiss-notice]")) notice()?.replaceChildren();
});

// The server answers a stale edit with 409 and a bad one with 400, retargeted to the notice.
document.addEventListener("htmx:beforeSwap", (event) => {
  const root = editor();
  if (!root) return;
  const status = event.detail.xhr.status;
  if (status === 409 || status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  } else if (status === 404) {
    showNotice(root.dataset.goneText);
  } else if (status >= 400) {
    showNotice(root.dataset.failedText);
  }
});

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target === notice()) {
    event.detail.target.scrollIntoView({ block: "nearest" });
    return;
  }
  // A message just inserted comes open, ready for typing.
  const open = document.querySelector("#example-messages details[data-edit][open]");
  if (open) focusText(open);
});
