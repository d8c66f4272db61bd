// Django admin's navigation sidebar (admin/js/nav_sidebar.js, deferred) opens unless the user
// closed it: below 1600 px it would squeeze change lists (static/bookbridge/admin.css), so it
// starts closed there. This file is a plain, not deferred, script in templates/admin/base_site.html:
// it runs before nav_sidebar.js reads the choice, and forgets the default once that has read it,
// so only a choice the user makes with the toggle is remembered.
"use strict";
(function () {
  const KEY = "django.admin.navSidebarIsOpen";
  if (localStorage.getItem(KEY) !== null || !window.matchMedia("(max-width: 1599px)").matches) {
    return;
  }
  localStorage.setItem(KEY, "false");
  document.addEventListener("DOMContentLoaded", function () {
    if (localStorage.getItem(KEY) === "false") {
      localStorage.removeItem(KEY);
    }
  });
})();
