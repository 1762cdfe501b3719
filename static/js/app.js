// Behaviour that used to live in inline event handlers, which the Content-Security-Policy forbids:
//   data-autosubmit on a field submits its form when it changes;
//   data-confirm="question" on a form asks before submitting;
//   data-print on a button prints the page;
//   data-file-name="selector" on a file input shows the chosen file's name in that element of its parent.
document.addEventListener("change", function (event) {
  var field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
  var picker = event.target.closest("input[type=file][data-file-name]");
  if (picker) {
    var label = picker.parentElement.querySelector(picker.dataset.fileName);
    if (label) label.textContent = picker.files.length ? picker.files[0].name : "";
  }
});
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) window.print();
});
