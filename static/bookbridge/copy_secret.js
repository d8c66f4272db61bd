// The account page's signing secret, shown once after "Reveal": copy it to the clipboard
// (buttons with data-copy-secret="#id-of-the-input"). Without clipboard access the text is
// selected so that Ctrl+C copies it.
(function () {
  document.querySelectorAll("[data-copy-secret]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy-secret"));
      if (!source) { return; }
      function copied() { button.textContent = "Copied"; }
      function fallback() {
        source.focus();
        source.select();
        button.textContent = "Press Ctrl+C to copy";
      }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.value).then(copied, fallback);
      } else {
        fallback();
      }
    });
  });
})();
