// The admin's pages work without this file. It asks before a form that cannot be undone (disabling an account) is
// sent, and lets "Identify" ask the hub's API to blink a device's light without leaving the page, saying what
// happened in the page's status line.
(function () {
  "use strict";

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  var status = document.querySelector("[data-identify-status]");

  function say(message) {
    if (status) {
      status.textContent = message;
      status.classList.remove("visually-hidden");
      status.classList.add("flash");
    }
  }

  document.querySelectorAll("form[data-identify]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.threshold) {
        return;  // the page's own script is missing: let the form post as it would without scripts
      }
      event.preventDefault();
      var device = form.getAttribute("data-identify");
      window.threshold.api("POST", "/api/v1/devices/" + encodeURIComponent(device) + "/identify")
        .then(function (response) {
          if (response.status === 202) {
            return response.json().then(function (sent) {
              say("The indicator of " + device + " blinks for a while now." +
                  (sent.broker_confirmed ? "" : " The broker did not confirm it: if nothing blinks, try again."));
            });
          }
          say("The device was not asked to blink: the hub answered " + response.status + ". Reload the page and try again.");
          return null;
        })
        .catch(function () {
          say("The hub could not be reached, so the device was not asked to blink. Check the connection and try again.");
        });
    });
  });
})();
