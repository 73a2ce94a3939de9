// The console's one script. Everything works without it (forms post, pages reload); with it:
// the inbox arrives live (server-sent events), urgent notices are announced to screen readers,
// deadlines count down, and an error summary takes the focus when a form comes back.
(function () {
  "use strict";

  function announce(text, urgent) {
    var region = document.getElementById(urgent ? "live-urgent" : "live-polite");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function focusSummary() {
    var summary = document.querySelector("[data-focus]");
    if (summary) summary.focus();
  }

  // <time data-deadline="ISO" data-left="剩余{m}分钟" data-over="已超时{m}分钟">
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var minutes = Math.round((Date.parse(el.getAttribute("data-deadline")) - now) / 60000);
      var over = minutes < 0;
      var template = el.getAttribute(over ? "data-over" : "data-left");
      var text = template.replace("{m}", String(Math.abs(minutes)))
        .replace("{h}", String(Math.floor(Math.abs(minutes) / 60)));
      if (el.textContent !== text) el.textContent = text;
      el.classList.toggle("overdue", over);
    });
  }

  function liveInbox() {
    var main = document.getElementById("main");
    var url = main && main.getAttribute("data-stream");
    if (!url || !window.EventSource) return;
    var list = document.getElementById("inbox-list");
    var badge = document.getElementById("inbox-badge");
    var unseen = 0;
    var source = new EventSource(url);
    source.addEventListener("notice", function (event) {
      var notice = JSON.parse(event.data);
      if (list) {
        var item = document.createElement("li");
        item.className = "card notice-item" + (notice.urgent ? " urgent" : "");
        var heading = document.createElement("h3");
        heading.textContent = notice.title;
        var body = document.createElement("p");
        body.textContent = notice.body;
        var meta = document.createElement("p");
        meta.className = "muted";
        meta.textContent = notice.meta;
        item.appendChild(heading); item.appendChild(body); item.appendChild(meta);
        list.insertBefore(item, list.firstChild);
        var empty = document.getElementById("inbox-empty");
        if (empty) empty.remove();
      }
      unseen += 1;
      if (badge) {
        badge.hidden = false;
        badge.textContent = String(unseen);
        badge.setAttribute("aria-label", notice.count_label.replace("{n}", String(unseen)));
      }
      announce(notice.announce, notice.urgent);
    });
    source.addEventListener("end", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusSummary();
    tick();
    window.setInterval(tick, 15000);
    liveInbox();
  });
})();
