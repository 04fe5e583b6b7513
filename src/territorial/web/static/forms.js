// Small behaviours of the workspace's forms, as a file: the Content-Security-Policy
// allows no inline script or inline event handler (onchange="...").
// <select data-autosubmit> submits its form when the choice changes.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });
})();
