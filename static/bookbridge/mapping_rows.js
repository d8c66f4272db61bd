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

// Row editors (Keap: apps/integrations/keap/templates/keap/widgets/*.html, keap.row_editors;
// HubSpot: apps/integrations/hubspot/templates/hubspot/mapping_table.html):
// "Add rule"/"Add row" appends an empty row numbered after the highest (fields
// <name>-<i>-<column>, counted by the <name>-rows hidden input); "Remove" takes a row out (a
// gap in the numbers is an empty row to the server). Without this script the buttons stay
// hidden and each save offers a few empty rows. The widget includes this file once per
// editor: each editor is set up once (data-ready).
(function () {
  function renumber(row, index) {
    row.setAttribute("data-row", String(index));
    row.querySelectorAll("select, input, label").forEach(function (node) {
      ["name", "id", "for"].forEach(function (attribute) {
        var value = node.getAttribute(attribute);
        if (value) { node.setAttribute(attribute, value.replace(/-\d+-(\w+)$/, "-" + index + "-$1")); }
      });
    });
    row.querySelectorAll(".visually-hidden").forEach(function (node) {
      node.textContent = node.textContent.replace(/\d+$/, String(index + 1));
    });
  }
  function clear(row) {
    row.querySelectorAll("select").forEach(function (node) {
      node.classList.remove("is-invalid");
      node.selectedIndex = 0;
    });
    row.querySelectorAll("input[type=text]").forEach(function (node) { node.value = ""; });
    row.querySelectorAll("[data-mapping-object]").forEach(function (node) { node.textContent = "—"; });
  }
  // A row's object cell ([data-mapping-object], HubSpot's Mapping step) names the option group
  // of the property chosen in the row's select marked data-object-select.
  function showObject(event) {
    var select = event.target;
    if (!select.hasAttribute || !select.hasAttribute("data-object-select")) { return; }
    var cell = select.closest("tr").querySelector("[data-mapping-object]");
    var option = select.options[select.selectedIndex];
    var group = option && option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
    if (cell) { cell.textContent = group || "—"; }
  }
  function setUp(editor) {
    if (editor.getAttribute("data-ready")) { return; }
    editor.setAttribute("data-ready", "true");
    editor.addEventListener("change", showObject);
    var body = editor.querySelector("tbody");
    var count = editor.querySelector("[data-row-count]");
    var add = editor.querySelector("[data-add-row]");
    if (!body || !count || !add) { return; }
    var template = body.querySelector("tr[data-row]").cloneNode(true);
    clear(template);
    function wire(row) {
      var remove = row.querySelector("[data-remove-row]");
      remove.hidden = false;
      remove.addEventListener("click", function () {
        var next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        var target = next ? next.querySelector("select, input") : add;
        target.focus();
      });
    }
    body.querySelectorAll("tr[data-row]").forEach(wire);
    add.addEventListener("click", function () {
      var index = Number(count.value) || 0;
      var row = template.cloneNode(true);
      renumber(row, index);
      count.value = String(index + 1);
      body.appendChild(row);
      wire(row);
      row.querySelector("select, input").focus();
    });
    add.hidden = false;
  }
  document.querySelectorAll("[data-row-editor]").forEach(setUp);
})();
