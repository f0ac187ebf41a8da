/* The wall's live link: one EventSource per open wall, and a one-second ticker.

   - The stream (/wall/stream/<area>) sends coalesced `change` summaries; each is handed to
     the Dash store `wall-signal`, whose callback re-reads the wall's live data.
   - Disconnect: nothing heard for STALE_MS (the server pings every 2 s), a stream error, or a
     `status` saying the server lost Redis, sets <html data-live="down">, which shows the
     banner. While down, the wall asks for a re-sync every POLL_MS (polling as a fallback).
   - A stream the browser closed for good (an error status) is opened again every REOPEN_MS.
   - Recovery: when the stream is back and live, the wall re-syncs from the snapshot once, as
     it may have missed notices meanwhile.
   - The ticker writes the clock, each countdown and its band, and "updated N s ago".
   Nothing here accumulates: one stream, one timer, and the DOM the server renders. */
(function () {
  "use strict";
  var STALE_MS = 4500, POLL_MS = 5000, TICK_MS = 1000, REOPEN_MS = 5000;
  var source = null, areaId = null, lastHeard = 0, lastLive = 0, live = false, lastPoll = 0;
  var lastOpen = 0;
  var wasDown = false;

  function root() { return document.getElementById("wall-root"); }

  function setProps(id, props) {
    var dc = window.dash_clientside;
    if (dc && dc.set_props && root()) { dc.set_props(id, props); }  // stores have no DOM node
  }

  // dash-renderer records every prop change that does not come from a callback response
  // (set_props included) in its undo history (state.history.past), and never drops any:
  // at a few signals a second that grew the JS heap by a third in an hour (bench/wall_soak).
  // A wall has no undo, so keep the last few entries. The array is rebuilt by concat on the
  // next change, so trimming it in place is safe. dash_stores is dash-renderer's own global.
  var HISTORY_KEEP = 10;
  function trimHistory() {
    var stores = window.dash_stores || [];
    for (var i = 0; i < stores.length; i++) {
      var history = stores[i].getState && stores[i].getState().history;
      if (history && history.past && history.past.length > HISTORY_KEEP) {
        history.past.splice(0, history.past.length - HISTORY_KEEP);
      }
    }
  }

  function signal(extra) {
    var data = { t: Date.now() };
    for (var k in extra) { data[k] = extra[k]; }
    setProps("wall-signal", { data: data });
  }

  function setLive(up) {
    live = up;
    document.documentElement.dataset.live = up ? "up" : "down";
    if (!up) { wasDown = true; return; }
    lastLive = Date.now();
    if (wasDown) { wasDown = false; signal({ resync: true }); }
  }

  function heard(data) {
    lastHeard = Date.now();
    if (data && data.live === false) { setLive(false); }
    else if (data && data.live === true) { setLive(true); }
  }

  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  }

  function open(id) {
    close();
    areaId = id;
    lastHeard = lastPoll = lastOpen = Date.now();
    source = new EventSource("/wall/stream/" + id);
    source.addEventListener("hello", function (e) { heard(parse(e)); });
    source.addEventListener("ping", function (e) { heard(parse(e)); });
    source.addEventListener("status", function (e) {
      // A quick outage may reach us as one "back, re-sync" status with no "down" before it.
      var data = parse(e), resync = data && data.resync && !wasDown;
      heard(data);
      if (resync) { signal({ resync: true }); }
    });
    source.addEventListener("change", function (e) {
      var data = parse(e);
      heard({ live: true });
      if (data) { signal({ reports: data.reports, seq: data.seq, n: data.n, many: data.many }); }
    });
    source.onerror = function () {
      // The browser reconnects by itself (retry: 1 s); until it does, we are down.
      if (source && source.readyState !== EventSource.OPEN) { setLive(false); }
    };
  }

  function close() {
    if (source) { source.close(); source = null; }
    areaId = null;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function formatLeft(ms, text) {
    var late = ms < 0, s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var body = (h >= 48 ? Math.floor(h / 24) + text.days + pad(h % 24) + ":" : (h ? h + ":" : "")) +
      pad(m) + ":" + pad(sec);
    return late ? text.overdue + " " + body : body;
  }

  var clockFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });

  var TEXT = {
    "zh-CN": { updated: "数据更新于 {n} 秒前", overdue: "已超时", days: "天" },
    "en": { updated: "Updated {n} s ago", overdue: "overdue", days: "d " }
  };

  function tick() {
    var r = root(), now = Date.now();
    if (!r) { close(); return; }
    var id = r.getAttribute("data-area");
    if (id !== areaId) { open(id); }
    // The browser gives up on a stream answered with an error status (a restarting server,
    // a login that Redis could not confirm); try again every REOPEN_MS.
    else if (source && source.readyState === EventSource.CLOSED && now - lastOpen > REOPEN_MS) { open(id); }
    if (now - lastHeard > STALE_MS) { setLive(false); }
    if (!live && now - lastPoll > POLL_MS) { lastPoll = now; signal({ resync: true, poll: true }); }
    trimHistory();
    var text = TEXT[r.getAttribute("lang")] || TEXT["zh-CN"];
    var clock = document.getElementById("wall-clock");
    if (clock) { clock.textContent = clockFormat.format(new Date(now)).replace(/\//g, "-"); }
    var updated = document.getElementById("wall-updated");
    if (updated) {
      var since = Math.max(0, Math.round((now - (lastLive || now)) / 1000));
      updated.textContent = text.updated.replace("{n}", since);
    }
    var rows = document.querySelectorAll(".board-row[data-due]");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], due = Date.parse(row.getAttribute("data-due"));
      var warn = Date.parse(row.getAttribute("data-warn"));
      var countdown = row.querySelector(".countdown");
      if (isNaN(due)) { continue; }
      if (countdown) { countdown.textContent = formatLeft(due - now, text); }
      var band = due <= now ? "red" : (!isNaN(warn) && warn <= now ? "amber" : "green");
      if (row.getAttribute("data-band") !== "red" || band === "red") { row.setAttribute("data-band", band); }
    }
  }

  window.gridWall = { isLive: function () { return live; }, area: function () { return areaId; } };
  setInterval(tick, TICK_MS);
  document.addEventListener("DOMContentLoaded", tick);
})();
