// Salesforce field-mapping step (apps/integrations/salesforce/templates/salesforce/
// field_mapping_table.html): "Add row" clones the last row as an empty one, numbered after the
// highest row (fields m<N>_target / m<N>_source / m<N>_mode, FieldMappingForm). Without this
// script the button stays hidden and every save offers one new empty row.
(function () {
  var table = document.querySelector("[data-mapping-table]");
  var button = document.querySelector("[data-add-mapping-row]");
  if (!table || !button) { return; }
  var body = table.tBodies[0];
  function objectOf(select) {
    var option = select.options[select.selectedIndex];
    var group = option && option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
    return group || "—";
  }
  table.addEventListener("change", function (event) {
    if (/^m\d+_target$/.test(event.target.name)) {
      event.target.closest("tr").querySelector("[data-mapping-object]").textContent = objectOf(event.target);
    }
  });
  button.addEventListener("click", function () {
    var rows = body.querySelectorAll("[data-mapping-row]");
    var last = rows[rows.length - 1];
    var next = 0;
    rows.forEach(function (row) { next = Math.max(next, Number(row.getAttribute("data-mapping-row")) + 1); });
    var row = last.cloneNode(true);
    row.setAttribute("data-mapping-row", String(next));
    row.querySelectorAll(".invalid-feedback").forEach(function (node) { node.remove(); });
    row.querySelector("[data-mapping-object]").textContent = "—";
    row.querySelectorAll("select, label").forEach(function (node) {
      ["name", "id", "for"].forEach(function (attribute) {
        var value = node.getAttribute(attribute);
        if (value) { node.setAttribute(attribute, value.replace(/m\d+_/, "m" + next + "_")); }
      });
      if (node.tagName === "SELECT") {
        node.classList.remove("is-invalid");
        // the write mode keeps its default (the first choice); the others start empty
        node.selectedIndex = 0;
      }
    });
    body.appendChild(row);
    row.querySelector("select").focus();
  });
  button.hidden = false;
  var note = document.querySelector("[data-no-script-note]");
  if (note) { note.hidden = true; }
})();
