// Connect pages (Keap, Salesforce): show the fields of the chosen sign-in method only, and copy
// the redirect URI. Fields and groups carry data-auth-methods="..." (the integrations' forms.py;
// a group: apps/connectors/forms.py method_group); without this script every group stays
// visible under its title and the form still works.
(function () {
  var form = document.querySelector("[data-auth-form]");
  if (!form) { return; }
  function chosen() {
    var checked = form.querySelector("input[name=auth_method]:checked");
    return checked ? checked.value : "";
  }
  function containerOf(element) {
    if (!element.matches("input, select, textarea")) { return element; }
    return element.closest(".mb-3") || element;
  }
  function update() {
    var method = chosen();
    document.querySelectorAll("[data-auth-methods]").forEach(function (element) {
      var show = element.getAttribute("data-auth-methods").split(" ").indexOf(method) !== -1;
      containerOf(element).hidden = !show;
    });
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "auth_method") { update(); }
  });
  function selectAll(source) {
    source.focus();
    if (source.select) { source.select(); } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
  }
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source) { return; }
      var text = (source.value !== undefined ? source.value : source.textContent).trim();
      function copied() { button.textContent = "Copied"; }
      function fallback() {
        // No clipboard access (an insecure origin, a refused permission): select the text so
        // that Ctrl+C copies it.
        selectAll(source);
        button.textContent = "Press Ctrl+C to copy";
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(copied, fallback);
      } else {
        fallback();
      }
    });
  });
  update();
})();
