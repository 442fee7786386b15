// The night board, kept live. Without this file the board is whole: it shows the home as when it was loaded, and
// its forms post to /board/…. With it, room states and alerts arrive from /api/v1/live (Server-Sent Events, signed
// by the session cookie, each connection starting with everything current), the page says in words whenever it is
// not live, reconnects by itself, and Acknowledge, Resolve, Knock and Check in go straight to the API.
(function () {
  "use strict";

  var dataNode = document.getElementById("board-data");
  if (!dataNode || !window.EventSource || !window.threshold || !window.Intl) {
    return;
  }
  var board = JSON.parse(dataNode.textContent);
  var words = board.words;
  var api = window.threshold.api;

  var liveBox = document.querySelector("[data-live-state]");
  var liveWords = document.getElementById("live-words");
  var updated = liveBox.querySelector('[data-field="updated"]');
  var boardSaid = document.getElementById("board-said");
  var list = document.querySelector('[data-field="alert-list"]');
  var alertsSaid = document.querySelector('[data-field="alerts-said"]');
  var template = document.getElementById("alert-template");

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var FIRST_RETRY_MS = 1000;
  var LAST_RETRY_MS = 15000;
  // Silence this long means the stream is dead even if the browser has not noticed (a phone off the Wi-Fi):
  // the hub sends a heartbeat every heartbeatS seconds.
  var SILENCE_MS = (board.heartbeatS * 2 + 5) * 1000;
  var TICK_MS = 5000;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function capital(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // Times on the home's clock, as the server writes them (dashboard/routes/board.py `clock`, `how_long`). -------

  var homeClock = new Intl.DateTimeFormat("en-GB", {
    timeZone: board.zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23"
  });

  function onHomeClock(date) {
    var parts = {};
    homeClock.formatToParts(date).forEach(function (part) { parts[part.type] = part.value; });
    return parts;
  }

  function clock(moment, now) {
    var at = onHomeClock(new Date(moment));
    var today = onHomeClock(now || new Date());
    var time = at.hour + ":" + at.minute;
    if (at.year === today.year && at.month === today.month && at.day === today.day) {
      return time;
    }
    return at.day + " " + MONTHS[Number(at.month) - 1] + " " + at.year + ", " + time;
  }

  function count(number, unit) {
    return number + " " + unit + (number === 1 ? "" : "s");
  }

  function howLong(since, now) {
    var minutes = Math.max(0, Math.floor((now - new Date(since)) / 60000));
    if (minutes === 0) {
      return "less than a minute";
    }
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    if (hours === 0) {
      return count(minutes, "minute");
    }
    return count(hours, "hour") + (rest ? " " + count(rest, "minute") : "");
  }

  function alertsWords(number) {
    return fill(words["alerts_" + number] || words.alerts_n, { n: number });
  }

  function staffName(id) {
    return board.staff[id] || id;
  }

  // Saying what happened: next to what was used, and to a screen reader through the page's status region. ------

  function say(text) {
    // Emptied first, so the same words said twice are announced twice.
    boardSaid.textContent = "";
    window.setTimeout(function () { boardSaid.textContent = text; }, 50);
  }

  function tell(place, text, refused) {
    if (place) {
      place.textContent = text;
      place.hidden = false;
      place.classList.toggle("said--refused", Boolean(refused));
    }
    say(text);
  }

  // Rooms ------------------------------------------------------------------------------------------------------

  function roomCards() {
    return Array.prototype.slice.call(document.querySelectorAll(".room[data-room]"));
  }

  function showRoom(card, now) {
    var state = card.getAttribute("data-state");
    var since = card.getAttribute("data-since");
    var phrase = board.states[state] || state;
    card.querySelector('[data-field="state"]').textContent =
      fill(phrase, { at: clock(since, now), duration: howLong(since, now) });
    Array.prototype.slice.call(card.classList).forEach(function (name) {
      if (name.indexOf("room--") === 0) {
        card.classList.remove(name);
      }
    });
    card.classList.add("room--" + state);
  }

  function applyRoom(message) {
    var card = document.querySelector('.room[data-room="' + CSS.escape(message.room) + '"]');
    if (!card) {
      return; // a room registered after the page was loaded: a reload shows it
    }
    card.setAttribute("data-state", message.state);
    card.setAttribute("data-since", message.since);
    showRoom(card, new Date());
  }

  // Alerts -----------------------------------------------------------------------------------------------------

  function alertCards() {
    return Array.prototype.slice.call(list.querySelectorAll(".alert-card"));
  }

  function alertCard(id) {
    return list.querySelector('.alert-card[data-alert="' + CSS.escape(id) + '"]');
  }

  function setAll(card, field, text) {
    card.querySelectorAll('[data-field="' + field + '"]').forEach(function (node) { node.textContent = text; });
  }

  function newCard(id) {
    var card = template.content.firstElementChild.cloneNode(true);
    var ATTRIBUTES = ["id", "for", "aria-labelledby", "aria-describedby", "action", "data-alert"];
    [card].concat(Array.prototype.slice.call(card.querySelectorAll("*"))).forEach(function (node) {
      ATTRIBUTES.forEach(function (name) {
        var value = node.getAttribute(name);
        if (value && value.indexOf("__ID__") !== -1) {
          node.setAttribute(name, value.split("__ID__").join(id));
        }
      });
    });
    return card;
  }

  // Newest first, then by id, as the server lists them (GET /api/v1/alerts). To the microsecond, as stored: alerts
  // raised together (one batch of events) share their time, and a Date keeps only milliseconds.
  function order(card) {
    var raised = card.getAttribute("data-raised");
    var beyond = /\.\d{3}(\d*)/.exec(raised);
    return [Date.parse(raised), beyond ? Number((beyond[1] + "000").slice(0, 3)) : 0, card.getAttribute("data-alert")];
  }

  function above(card, other) {
    var mine = order(card);
    var theirs = order(other);
    if (mine[0] !== theirs[0]) {
      return mine[0] > theirs[0];
    }
    if (mine[1] !== theirs[1]) {
      return mine[1] > theirs[1];
    }
    return mine[2] < theirs[2];
  }

  function place(card) {
    var below = alertCards().filter(function (other) { return other !== card && above(card, other); })[0];
    list.insertBefore(card, below || null);
  }

  function recount() {
    var cards = alertCards();
    var perRoom = {};
    cards.forEach(function (card) {
      var room = card.getAttribute("data-room");
      perRoom[room] = (perRoom[room] || 0) + 1;
    });
    document.querySelector('[data-field="alerts-count"]').textContent = "(" + alertsWords(cards.length) + ")";
    document.querySelector('[data-field="no-alerts"]').hidden = cards.length > 0;
    roomCards().forEach(function (card) {
      var number = perRoom[card.getAttribute("data-room")] || 0;
      var line = card.querySelector('[data-field="room-alerts"]');
      line.textContent = alertsWords(number);
      line.classList.toggle("room__alerts--some", number > 0);
    });
  }

  function roomOf(message) {
    return message.room || words.whole_home;
  }

  // Shows one alert as `message` (an AlertMessage of the live stream) has it. Returns what that changed here:
  // "new", "gone", "acknowledged", or "" (nothing worth saying).
  function applyAlert(message) {
    var card = alertCard(message.id);
    if (message.status.indexOf("cleared") === 0) {
      if (!card) {
        return "";
      }
      card.remove();
      recount();
      return "gone";
    }
    var fresh = !card;
    var wasAcknowledged = !fresh && card.classList.contains("alert-card--acknowledged");
    if (fresh) {
      card = newCard(message.id);
    }
    var now = new Date();
    card.setAttribute("data-raised", message.raised_at);
    card.setAttribute("data-room", message.room || "");
    setAll(card, "room", roomOf(message));
    setAll(card, "label", board.types[message.type] || message.type);
    setAll(card, "sentence", message.sentence);
    setAll(card, "raised", clock(message.raised_at, now));
    card.querySelector('time[data-field="raised"]').setAttribute("datetime", message.raised_at);
    if (message.escalation_step !== null && message.escalation_step !== undefined) {
      setAll(card, "step", fill(words.step, {
        step: message.escalation_step + 1, who: board.audiences[message.audience] || message.audience
      }));
      card.querySelector('[data-field="step-row"]').hidden = false;
    }
    var acknowledged = message.status === "active_acknowledged";
    var said = card.querySelector('[data-field="acknowledged"]');
    if (!acknowledged) {
      said.textContent = words.not_acknowledged;
    } else if (message.change === "acknowledged") {
      said.textContent = fill(words.acknowledged_at, {
        who: staffName(message.acknowledged_by), at: clock(message.changed_at, now)
      });
    } else if (said.textContent.trim() === words.not_acknowledged) {
      said.textContent = fill(words.acknowledged, { who: staffName(message.acknowledged_by) });
    }
    card.classList.toggle("alert-card--acknowledged", acknowledged);
    card.querySelector('[data-board-action="acknowledge"]').hidden = acknowledged;
    card.querySelector('[data-field="own"]').hidden = !(message.subject_staff && message.subject_staff === board.me);
    if (fresh) {
      place(card);
    }
    recount();
    if (fresh) {
      return "new";
    }
    return acknowledged && !wasAcknowledged ? "acknowledged" : "";
  }

  // What the API answers for one alert (AlertDetail), as the live stream would say it.
  function asMessage(detail, change) {
    return {
      id: detail.id, room: detail.room, type: detail.type, status: detail.status, sentence: detail.sentence,
      subject_staff: detail.subject_staff, raised_at: detail.raised_at, acknowledged_by: detail.acknowledged_by,
      change: change, changed_at: change === "acknowledged" ? detail.acknowledged_at : detail.resolved_at,
      escalation_step: null
    };
  }

  // Live or not ------------------------------------------------------------------------------------------------

  var source = null;
  var live = false;
  var lastHeard = new Date();
  var lastSign = new Date();
  var retryTimer = null;
  var retryMs = FIRST_RETRY_MS;
  var snapshot = null; // ids of the alerts the current connection has sent before its `ready`
  var arrived = 0;

  function heard() {
    lastHeard = new Date();
    lastSign = lastHeard;
    updated.textContent = clock(lastHeard);
    updated.setAttribute("datetime", lastHeard.toISOString());
  }

  function showLive(on, text) {
    live = on;
    liveBox.setAttribute("data-live-state", on ? "live" : "not-live");
    if (liveWords.textContent !== text) {
      liveWords.textContent = text;
    }
  }

  function notLive() {
    showLive(false, "Not live — reconnecting… Last update " + clock(lastHeard) +
             ". What you see may be out of date.");
  }

  // A refused stream is either the hub (503 while it has lost its broker: try again) or the sign-in that ended
  // (sign-out, its time is up, the account disabled): then no retry helps, and the carer must be told at once.
  function signedOut() {
    if (source) {
      source.close();
      source = null;
    }
    showLive(false, "Signed out: this board is not live and shows no new alerts. Sign in again.");
    if (!liveBox.querySelector("[data-sign-in-again]")) {
      var again = document.createElement("a");
      again.href = "/sign-in?next=" + encodeURIComponent("/board");
      again.className = "button";
      again.setAttribute("data-sign-in-again", "");
      again.textContent = "Sign in again";
      liveBox.appendChild(again);
    }
  }

  function retryOrSignedOut() {
    window.fetch("/api/v1/accounts/me", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.status === 401) {
          signedOut();
        } else {
          retry();
        }
      }, retry);
  }

  function retry() {
    if (source) {
      source.close();
      source = null;
    }
    if (retryTimer !== null) {
      return;
    }
    retryTimer = window.setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
  }

  function onReady() {
    heard();
    // Whatever the snapshot did not name is no longer active (cleared or resolved while we were away).
    alertCards().forEach(function (card) {
      if (snapshot && !snapshot[card.getAttribute("data-alert")]) {
        card.remove();
      }
    });
    recount();
    if (arrived) {
      say(arrived === 1 ? "1 new alert." : arrived + " new alerts.");
    }
    snapshot = null;
    retryMs = FIRST_RETRY_MS;
    showLive(true, "Live: changes appear here as they happen.");
  }

  function connect() {
    retryTimer = null;
    if (source) {
      source.close();
    }
    lastSign = new Date();
    source = new EventSource("/api/v1/live");
    source.addEventListener("open", function () {
      lastSign = new Date();
      snapshot = {};
      arrived = 0;
    });
    source.addEventListener("room", function (event) {
      heard();
      applyRoom(JSON.parse(event.data));
    });
    source.addEventListener("alert", function (event) {
      heard();
      var message = JSON.parse(event.data);
      if (snapshot) {
        snapshot[message.id] = true;
      }
      var changed = applyAlert(message);
      if (changed === "new" && snapshot) {
        arrived += 1;
      } else if (snapshot) {
        return; // the whole state again, after a reconnection: only what is new is worth saying
      } else if (changed === "new") {
        say("New alert for " + roomOf(message) + ": " + message.sentence);
      } else if (changed === "acknowledged") {
        say("The alert for " + roomOf(message) + " was acknowledged by " + staffName(message.acknowledged_by) + ".");
      } else if (changed === "gone") {
        say("The alert for " + roomOf(message) + " is " +
            (message.resolved_by ? "resolved by " + staffName(message.resolved_by) : "cleared") + ".");
      }
    });
    source.addEventListener("heartbeat", heard);
    source.addEventListener("ready", onReady);
    source.addEventListener("error", function () {
      notLive();
      // CONNECTING: the browser tries again by itself. CLOSED (refused, e.g. 503 while the hub has lost its
      // broker): it will not, so we do, waiting longer each time.
      if (source && source.readyState === EventSource.CLOSED) {
        retryOrSignedOut();
      }
    });
  }

  window.setInterval(function () {
    var now = new Date();
    if (source && retryTimer === null && now - lastSign > SILENCE_MS) {
      notLive();
      retry();
    }
    roomCards().forEach(function (card) { showRoom(card, now); });
  }, TICK_MS);

  window.addEventListener("offline", function () {
    notLive();
  });
  window.addEventListener("online", function () {
    if (!live) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
      retryMs = FIRST_RETRY_MS;
      connect();
    }
  });

  // Acknowledge, resolve, knock and check in, straight through the API -----------------------------------------

  function answerOf(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      return { ok: response.ok, status: response.status, body: body };
    });
  }

  function refusal(answer) {
    if (answer.status === 401) {
      return "You are signed out. Reload the page to sign in again.";
    }
    var detail = answer.body && answer.body.detail;
    if (detail && typeof detail === "object" && typeof detail.detail === "string") {
      return capital(detail.detail);
    }
    if (typeof detail === "string") {
      return capital(detail);
    }
    return "That was not done (the hub answered " + answer.status + "). Try again.";
  }

  var ACTIONS = {
    acknowledge: function (form) {
      var card = form.closest(".alert-card");
      var id = card.getAttribute("data-alert");
      return api("POST", "/api/v1/alerts/" + encodeURIComponent(id) + "/acknowledge").then(answerOf)
        .then(function (answer) {
          var said = card.querySelector('[data-field="said"]');
          if (!answer.ok) {
            tell(said, refusal(answer), true);
            return;
          }
          applyAlert(asMessage(answer.body, "acknowledged"));
          tell(said, fill(words.acknowledged_done, { room: roomOf(answer.body) }));
          said.focus();
        });
    },
    resolve: function (form) {
      var card = form.closest(".alert-card");
      var id = card.getAttribute("data-alert");
      return api("POST", "/api/v1/alerts/" + encodeURIComponent(id) + "/resolve", { note: form.elements.note.value })
        .then(answerOf).then(function (answer) {
          if (!answer.ok) {
            tell(card.querySelector('[data-field="said"]'), refusal(answer), true);
            return;
          }
          applyAlert(asMessage(answer.body, "resolved"));
          tell(alertsSaid, fill(words.resolved_done, { room: roomOf(answer.body) }));
          alertsSaid.focus();
        });
    },
    knock: function (form) {
      var room = form.getAttribute("data-room");
      var path = "/api/v1/rooms/" + encodeURIComponent(board.site) + "/" + encodeURIComponent(room) + "/knock";
      return api("POST", path).then(answerOf).then(function (answer) {
        var said = form.querySelector('[data-field="said"]');
        if (!answer.ok) {
          tell(said, refusal(answer), true);
          return;
        }
        tell(said, fill(answer.body.broker_confirmed ? words.knocked : words.knock_unconfirmed, { room: room }));
      });
    },
    "check-in": function (form) {
      var room = form.elements.room.value;
      return api("POST", "/api/v1/check-ins", { site: board.site, room: room }).then(answerOf)
        .then(function (answer) {
          var said = form.querySelector('[data-field="said"]');
          if (!answer.ok) {
            tell(said, refusal(answer), true);
            return;
          }
          tell(said, fill(words.checked_in, { room: room, at: clock(answer.body.at) }));
        });
    }
  };

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-board-action]");
    if (!form || !ACTIONS[form.getAttribute("data-board-action")]) {
      return;
    }
    event.preventDefault();
    // Not `disabled`: that would take the focus off the button a keyboard user just pressed.
    if (form.getAttribute("aria-busy") === "true") {
      return;
    }
    form.setAttribute("aria-busy", "true");
    ACTIONS[form.getAttribute("data-board-action")](form).catch(function () {
      var holder = form.closest(".alert-card") || form;
      tell(holder.querySelector('[data-field="said"]'),
           "The hub could not be reached. Check the connection and try again.", true);
    }).then(function () {
      form.removeAttribute("aria-busy");
    });
  });

  showLive(false, "Connecting to live updates…");
  connect();
})();
