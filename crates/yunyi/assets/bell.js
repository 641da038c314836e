// Keeps the header's unread count current without a reload: the server sends the count on
// /notifications/stream (Server-Sent Events) when the page opens and whenever it changes.
// A stream whose session ended is refused on reconnect, and EventSource then stops.
(function () {
  "use strict";
  var badge = document.getElementById("unread-badge");
  if (!badge || !window.EventSource) {
    return;
  }
  var source = new EventSource("/notifications/stream");
  source.addEventListener("unread", function (e) {
    var n = parseInt(e.data, 10);
    if (isNaN(n) || n < 0) {
      return;
    }
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.hidden = n === 0;
    badge.setAttribute("data-unread", String(n));
  });
  window.addEventListener("pagehide", function () {
    source.close();
  });
})();
