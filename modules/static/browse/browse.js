// The cache browser's only script: copy buttons, and the fetch page's progress poll.
// Everything works without it, except copying with one click and the live progress.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });

  function poll(box) {
    var state = box.querySelector("#fetch-state");
    fetch(box.getAttribute("data-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.status === "cached") {
          state.textContent = "Cached. ";
          var link = document.createElement("a");
          link.href = data.url;
          link.id = "fetched-link";
          link.textContent = "Open the version page";
          state.appendChild(link);
        } else if (data.status === "failed") {
          state.className = "failed";
          state.textContent = "The fetch failed (" + data.http_status + "): " + data.message;
        } else if (data.status === "pending") {
          setTimeout(function () { poll(box); }, 1000);
        } else {
          state.textContent = data.message || "Unknown status.";
        }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("fetch-progress");
    if (box) poll(box);
  });
})();
