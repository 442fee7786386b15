// Exporting a case without leaving the page: the bundle is fetched from the API (the same export the form posts
// for), with its progress said plainly in the form's status line, and handed to the browser as a download.
// Without this file the form posts and the zip comes back as a download all the same.
(function () {
  "use strict";

  function fileName(response, fallback) {
    var disposition = response.headers.get("Content-Disposition") || "";
    var match = /filename="?([^";]+)"?/.exec(disposition);
    return match ? match[1] : fallback;
  }

  function reason(response) {
    return response.json().then(function (body) {
      return body && body.detail && body.detail.detail ? body.detail.detail : response.statusText;
    }, function () { return response.statusText; });
  }

  function download(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    // Long enough for the browser to have taken the file.
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function enhance(form) {
    var button = form.querySelector("button");
    var status = form.querySelector(".export-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (button.getAttribute("aria-disabled") === "true") {
        return;
      }
      button.setAttribute("aria-disabled", "true");
      status.textContent = "Preparing the export… You can keep using this page.";
      window.threshold.api("POST", form.getAttribute("data-export")).then(function (response) {
        if (!response.ok) {
          return reason(response).then(function (text) {
            status.textContent = "The export did not work: " + text + ". Try again.";
          });
        }
        var name = fileName(response, form.getAttribute("data-file"));
        return response.blob().then(function (blob) {
          download(blob, name);
          status.textContent = "The export is ready: " + name + " has been downloaded.";
        });
      }).catch(function () {
        status.textContent = "The export did not work: the hub could not be reached. Try again.";
      }).then(function () {
        button.removeAttribute("aria-disabled");
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-export]"), enhance);
})();
