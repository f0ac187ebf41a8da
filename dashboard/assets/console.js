/* The console's keyboard shortcuts and its live link (assets load on every page; all of
   this sleeps unless #console-root is on the page).

   Keys (never while typing in a field, except Esc and Ctrl+Enter):
     j / k   next / previous incident in the queue (opens it in the drawer)
     x       tick / untick the current row for batch reassign
     a d r e p t c o g   accept, dispatch, reassign, escalate, postpone, return, close,
             reopen, acknowledge alarm: presses that action's button in the drawer (only
             the actions legal now have a button); a form opens for those that need one
     Ctrl+Enter (or Enter in the deadline box)   confirm the open form
     Esc     close the form, else the help, else the drawer
     ?       show / hide the help
   Actions go through Dash callbacks like clicks do: the server checks role, jurisdiction
   and version on every one.

   Live link: the walls' event stream for the lead's area (/wall/stream/<area>) tells the
   queue to refresh (console-live store), at most once per THROTTLE_MS. */
(function () {
  "use strict";
  var THROTTLE_MS = 1500, CHECK_MS = 1000;
  var KEYS = { a: "a", d: "d", r: "r", e: "e", p: "p", t: "t", c: "c", o: "o", g: "g" };
  var source = null, areaId = null, cursorId = null, lastSignal = 0, timer = null;

  function root() { return document.getElementById("console-root"); }
  function byId(id) { return document.getElementById(id); }

  function setProps(id, props) {
    var dc = window.dash_clientside;
    if (dc && dc.set_props && root()) { dc.set_props(id, props); }
  }

  function typing(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function visible(el) { return !!el && el.offsetParent !== null; }

  // ---------------------------------------------------------------- queue cursor

  function idCells() { return document.querySelectorAll("#console-queue td[data-dash-column='id']"); }

  function rowIds() {
    var cells = idCells(), ids = [];
    for (var i = 0; i < cells.length; i++) {
      var v = parseInt(cells[i].textContent, 10);
      if (!isNaN(v)) { ids.push(v); }
    }
    return ids;
  }

  function rowOf(id) {
    var cells = idCells();
    for (var i = 0; i < cells.length; i++) {
      if (parseInt(cells[i].textContent, 10) === id) { return cells[i].parentElement; }
    }
    return null;
  }

  function move(delta) {
    var ids = rowIds();
    if (!ids.length) { return; }
    var at = ids.indexOf(cursorId);
    var next = at < 0 ? (delta > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, at + delta));
    cursorId = ids[next];
    setProps("console-cursor", { data: { id: cursorId, t: Date.now() } });
    var row = rowOf(cursorId);
    if (row && row.scrollIntoView) { row.scrollIntoView({ block: "nearest" }); }
  }

  function toggleTick() {
    var row = cursorId === null ? null : rowOf(cursorId);
    var box = row && row.querySelector("input[type='checkbox']");
    if (box) { box.click(); }
  }

  // ---------------------------------------------------------------- actions and forms

  function press(key) {
    var button = document.querySelector("#console-actions [data-shortcut='" + key + "']");
    if (!button) { return; }
    button.click();
    setTimeout(focusForm, 250);
  }

  function focusForm() {
    var form = byId("console-form");
    if (!visible(form)) { return; }
    var fields = form.querySelectorAll("input, textarea");
    for (var i = 0; i < fields.length; i++) {
      if (visible(fields[i]) && fields[i].type !== "radio") { fields[i].focus(); return; }
    }
  }

  function escape() {
    var form = byId("console-form");
    if (visible(form)) { byId("console-f-cancel").click(); return; }
    if (document.documentElement.dataset.consoleHelp === "open") { toggleHelp(); return; }
    var close = byId("console-drawer-close");
    if (visible(byId("console-drawer")) && close) { close.click(); cursorId = null; }
  }

  function toggleHelp() {
    var html = document.documentElement;
    html.dataset.consoleHelp = html.dataset.consoleHelp === "open" ? "closed" : "open";
  }

  function onKey(event) {
    if (!root() || event.altKey || event.isComposing) { return; }
    var target = event.target, key = event.key;
    if (key === "Escape") {
      if (typing(target)) { target.blur(); }
      escape();
      return;
    }
    var form = byId("console-form");
    var inForm = form && form.contains(target);
    if (key === "Enter" && inForm && (event.ctrlKey || event.metaKey || target.id === "console-f-deadline")) {
      event.preventDefault();
      byId("console-f-submit").click();
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey) { return; }
    var handled = true;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "x") { toggleTick(); }
    else if (key === "?") { toggleHelp(); }
    else if (KEYS[key]) { press(KEYS[key]); }
    else { handled = false; }
    if (handled) { event.preventDefault(); event.stopPropagation(); }
  }

  function onClick(event) {
    var cell = event.target && event.target.closest && event.target.closest("#console-queue td");
    var idCell = cell && cell.parentElement.querySelector("td[data-dash-column='id']");
    if (idCell) {
      var v = parseInt(idCell.textContent, 10);
      if (!isNaN(v)) { cursorId = v; }
    }
  }

  // ---------------------------------------------------------------- live link

  function signal() {
    var now = Date.now(), wait = lastSignal + THROTTLE_MS - now;
    if (timer) { return; }
    if (wait <= 0) { lastSignal = now; setProps("console-live", { data: { t: now } }); return; }
    timer = setTimeout(function () { timer = null; signal(); }, wait);
  }

  function open(id) {
    close();
    areaId = id;
    if (!id || !window.EventSource) { return; }
    source = new EventSource("/wall/stream/" + id);
    source.addEventListener("change", signal);
    source.addEventListener("status", function (e) {
      try { if (JSON.parse(e.data).resync) { signal(); } } catch (err) { /* ignore */ }
    });
  }

  function close() {
    if (source) { source.close(); source = null; }
    areaId = null;
  }

  function check() {
    var r = root();
    if (!r) { if (source) { close(); } return; }
    var id = r.getAttribute("data-area");
    if (id !== areaId) { open(id); }
  }

  document.addEventListener("keydown", onKey, true);
  document.addEventListener("click", onClick, true);
  setInterval(check, CHECK_MS);
  window.gridConsole = { cursor: function () { return cursorId; }, live: function () { return !!source; } };
})();
