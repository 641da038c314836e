// Turns this browser's notifications on and off on the settings page: subscribes with the
// server's VAPID key (from data-push-key) through the service worker, and gives the
// subscription to the server (or takes it back). Says in the page's language what happened.
(function () {
  "use strict";
  var box = document.getElementById("channel-browser");
  var status = document.getElementById("push-status");
  var on = document.getElementById("push-enable");
  var off = document.getElementById("push-disable");
  if (!box || !status || !on || !off) {
    return;
  }
  function say(key) {
    status.textContent = status.dataset[key] || "";
    status.dataset.state = key;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("unsupported");
    return;
  }
  function key() {
    var b64 = box.dataset.pushKey.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }
  function send(method, body) {
    return fetch("/api/v1/push-subscriptions", {
      method: method,
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": box.dataset.csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (!r.ok && r.status !== 404) {
        throw new Error("status " + r.status);
      }
    });
  }
  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
  }
  navigator.serviceWorker.register("/sw.js").then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (registration) {
    return registration.pushManager.getSubscription().then(function (current) {
      show(!!current);
      if (Notification.permission === "denied") {
        say("denied");
      }
      on.addEventListener("click", function () {
        on.disabled = true;
        Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") {
            say("denied");
            return null;
          }
          return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key() })
            .then(function (s) {
              return send("POST", s.toJSON()).then(function () {
                show(true);
                say("on");
              });
            });
        }).catch(function () {
          say("failed");
        }).then(function () {
          on.disabled = false;
        });
      });
      off.addEventListener("click", function () {
        off.disabled = true;
        registration.pushManager.getSubscription().then(function (s) {
          if (!s) {
            return null;
          }
          return send("DELETE", { endpoint: s.endpoint }).then(function () {
            return s.unsubscribe();
          });
        }).then(function () {
          show(false);
          say("off");
        }).catch(function () {
          say("failed");
        }).then(function () {
          off.disabled = false;
        });
      });
    });
  }).catch(function () {
    say("unsupported");
  });
})();
