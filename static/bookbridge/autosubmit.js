/* <select data-autosubmit> submits its form when the choice changes (instead of an inline
   onchange handler, which the Content-Security-Policy refuses). */
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
    field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  }
});
