// A dialog opened from a search: mark the searched words in the transcript, as the dialogs page
// marks them in its excerpts. Only text nodes are touched (never HTML), so nothing is injected.

const transcript = document.querySelector("#transcript[data-search]");
const WORD = "[\\p{L}\\p{N}_]";
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function pattern(search, prefixes) {
  if (!prefixes) return new RegExp(escape(search), "giu");
  const words = (search.toLowerCase().match(new RegExp(`${WORD}+`, "gu")) || []).slice(0, 8);
  if (!words.length) return null;
  return new RegExp(`(?<!${WORD})(?:${words.map(escape).join("|")})${WORD}*`, "giu");
}

function mark(root, regexp) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) {
    if (!walker.currentNode.parentElement.closest(".msg-meta")) nodes.push(walker.currentNode);
  }
  for (const node of nodes) {
    const text = node.nodeValue;
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of text.matchAll(regexp)) {
      if (!match[0]) continue;
      fragment.append(text.slice(last, match.index));
      const marked = document.createElement("mark");
      marked.textContent = match[0];
      fragment.append(marked);
      last = match.index + match[0].length;
    }
    if (last) {
      fragment.append(text.slice(last));
      node.replaceWith(fragment);
    }
  }
}

if (transcript) {
  const regexp = pattern(transcript.dataset.search.trim(), transcript.dataset.searchPrefixes === "true");
  if (regexp) mark(transcript, regexp);
}
