// profilestore dashboard: live views over server-sent events.
//
// An element with `data-live="URL"` subscribes to that event stream; each
// event's data is JSON `{"html": "<tr>...</tr>"}`, markup the server built
// (and escaped), which is added to the element: first by default, last
// with `data-order="append"`. At most `data-max` children are kept
// (default 200). An element with id `data-status` shows the connection.
// A node whose id is already a child's replaces that child in place.
(function () {
  "use strict";

  function live(el) {
    var max = parseInt(el.getAttribute("data-max") || "200", 10);
    var append = el.getAttribute("data-order") === "append";
    var state = document.getElementById(el.getAttribute("data-status") || "");
    var source = new EventSource(el.getAttribute("data-live"));
    function show(on, text) {
      if (!state) { return; }
      state.textContent = text;
      state.className = "live-state " + (on ? "on" : "off");
    }
    source.onopen = function () { show(true, "live"); };
    source.onerror = function () { show(false, "reconnecting"); };
    source.addEventListener(el.getAttribute("data-event") || "row", function (e) {
      var data = JSON.parse(e.data);
      var t = document.createElement("template");
      t.innerHTML = data.html;
      var node = t.content.firstElementChild;
      if (!node) { return; }
      node.classList.add("fresh");
      var empty = el.querySelector(".empty");
      if (empty) { empty.remove(); }
      // A row with the id of one shown replaces it (a live row that ended).
      var same = node.id ? document.getElementById(node.id) : null;
      if (same && same.parentNode === el) { el.replaceChild(node, same); return; }
      if (append) { el.appendChild(node); } else { el.insertBefore(node, el.firstChild); }
      while (el.children.length > max) {
        el.removeChild(append ? el.firstElementChild : el.lastElementChild);
      }
    });
  }

  document.querySelectorAll("[data-live]").forEach(live);
})();
