// The dialogs page: a header checkbox selects or clears every row's checkbox of the same name.

document.addEventListener("change", (event) => {
  const all = event.target.closest("input[data-select-all]");
  if (!all) return;
  const boxes = all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`);
  boxes.forEach((box) => {
    box.checked = all.checked;
  });
});
