// Step 1 of the Salesforce wizard: show the fields of the chosen sign-in method only.
// Every field carries data-auth-methods="..." (apps/integrations/salesforce/forms.py); without
// this script all fields stay visible and the form still works.
(function () {
  var form = document.querySelector("[data-auth-form]");
  if (!form) { return; }
  function chosen() {
    var checked = form.querySelector("input[name=auth_method]:checked");
    return checked ? checked.value : "";
  }
  function containerOf(element) {
    return element.closest(".mb-3") || element.closest("[data-auth-methods]") || element;
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
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (source && navigator.clipboard) { navigator.clipboard.writeText(source.textContent.trim()); }
      button.textContent = "Copied";
    });
  });
  update();
})();
