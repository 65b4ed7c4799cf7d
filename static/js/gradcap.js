// Small behaviour for every page. No inline scripts: CSP allows only our files and nonced tags.

// A <select data-autosubmit> submits its form on change (the language switcher).
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select) select.form.requestSubmit();
});
