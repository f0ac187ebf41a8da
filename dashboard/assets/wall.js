/* The wall's panels and live link: one EventSource per open wall, and a one-second ticker.

   - The page carries its first live state (#wall-state, data-state); the stream
     (/wall/stream/<area>?lang=) pushes a new one with each coalesced `change`, with `hello`
     and with the `status` that ends an outage. Each state is drawn here: the headline
     numbers, the deadline board and the feed (dashboard/wall/view.py formats every word).
     No Dash callback is involved, so dash-renderer does no work per change.
   - The slow panels come the same way (data-panels, then `panels` events when they change;
     dashboard/wall/panels.py): the category breakdown and the trend's columns are drawn
     here. The map, which dcc.Graph drew at load, is recoloured when only its values change
     and redrawn with Plotly.react on its own plot div when its legend, mode or screen size
     does (each Plotly.react leaves V8 more code: docs/wall.md). The map holds both modes'
     colours; its switch is applied here. Its fonts are scaled to the screen (1 at 1920 wide,
     2 at 3840) as the CSS scales the rest.
   - A state never replaces a newer one (its `seq`, the relay's cursor, is compared).
   - Rows are kept by incident id: a row that stays keeps its element (its flash and the
     feed's arrival animation run once, not on every update); text goes in as text, never
     as HTML.
   - Disconnect: nothing heard for STALE_MS (the server pings every 2 s), a stream error, or a
     `status` saying the server lost Redis, sets <html data-live="down">, which shows the
     banner. While down, the wall fetches /wall/state/<area> every POLL_MS (polling as a
     fallback).
   - A stream the browser closed for good (an error status) is opened again every REOPEN_MS.
   - The ticker writes the clock, each countdown and its band, and "updated N s ago".
   - The map's boundaries are in the page too (#wall-state data-geo, a JSON string), and the
     map's figure names them (data-geo-key, "grid-map:<area>:<digest>") as its geojson.
     plotly.js looks a string geojson up in window.PlotlyGeoAssets before it would fetch it
     as a URL; that object is wrapped here so the lookup finds the page's boundaries (parsed
     on first use; only the current wall's are kept). See dashboard/wall/geo.py for why.
   - Each change is also dispatched as a `gridwall:change` event on document (its summary),
     and each panels state as `gridwall:panels`, which benchmarks and tests may listen to.
   - Once a day, at a quiet hour, a live wall reloads itself if its page answers (below).
   Nothing here accumulates: one stream, one timer, and the rows on screen. */
(function () {
  "use strict";
  var STALE_MS = 4500, POLL_MS = 5000, PANELS_POLL_MS = 15000, TICK_MS = 1000, REOPEN_MS = 5000;
  var source = null, streamKey = null, lastHeard = 0, lastLive = 0, live = false, lastPoll = 0;
  var lastOpen = 0, shownSeq = -1, adoptedState = null, polling = false, lastPanelsPoll = 0;
  var panels = null, firstDrawn = {};  // the newest panels state; what dcc.Graph drew at load

  function root() { return document.getElementById("wall-root"); }

  // ------------------------------------------------------------------ the map's boundaries

  var GEO_PREFIX = "grid-map:";
  var geoAssets = window.PlotlyGeoAssets || {topojson: {}};  // plotly.js makes it only if absent
  window.PlotlyGeoAssets = new Proxy(geoAssets, {
    get: function (assets, name) {
      if (typeof name === "string" && name.indexOf(GEO_PREFIX) === 0 && !(name in assets)) {
        var holder = document.querySelector('[data-geo-key="' + name + '"]');  // [a-z0-9:-] only
        if (!holder) { return undefined; }
        Object.keys(assets).forEach(function (key) {
          if (key.indexOf(GEO_PREFIX) === 0) { delete assets[key]; }
        });
        assets[name] = JSON.parse(holder.getAttribute("data-geo"));
      }
      return assets[name];
    }
  });

  function wallKey(r) {  // the stream's path: the area and the wall's language
    return r.getAttribute("data-area") + "?lang=" + (r.getAttribute("data-lang") || "zh");
  }

  // ------------------------------------------------------------------ drawing a state

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function setText(node, text) { if (node.textContent !== text) { node.textContent = text; } }

  function drawKpis(box, kpis, seq) {
    var marker = box.querySelector(".wall-seq");
    if (!marker) {
      marker = el("span", "wall-seq");
      marker.hidden = true;
      box.insertBefore(marker, box.firstChild);
    }
    for (var i = 0; i < kpis.length; i++) {
      var k = kpis[i], card = box.querySelector(".kpi-" + k.key);
      if (!card) {
        card = el("div", "kpi kpi-" + k.key);
        card.appendChild(el("div", "kpi-label"));
        var value = el("div", "kpi-value");
        value.id = "kpi-" + k.key;
        card.appendChild(value);
        card.appendChild(el("div", "kpi-delta"));
        box.appendChild(card);
      }
      setText(card.children[0], k.label);
      setText(card.children[1], k.value);
      setText(card.children[2], k.delta);
      card.children[2].className = "kpi-delta " + k.tone;
    }
    marker.setAttribute("data-seq", String(seq || 0));
  }

  // Keyed rows (by item.id, in the attribute `keyName`, data-incident by default): `make(item)`
  // builds a row, `fill(row, item)` writes it; a row whose item is unchanged (same JSON) is
  // left alone.
  function drawRows(box, items, make, fill, keyName) {
    var kept = {}, children = box.children, i, row;
    keyName = keyName || "data-incident";
    for (i = 0; i < children.length; i++) {
      var id = children[i].getAttribute(keyName);
      if (id) { kept[id] = children[i]; }
    }
    var empty = box.querySelector(".empty");
    if (!items.length) {
      for (id in kept) { box.removeChild(kept[id]); }
      if (!empty) { box.appendChild(el("div", "empty", box.getAttribute("data-empty") || "")); }
      return;
    }
    if (empty) { box.removeChild(empty); }
    var wanted = {};
    for (i = 0; i < items.length; i++) {
      var item = items[i], key = String(item.id), sign = JSON.stringify(item);
      wanted[key] = true;
      row = kept[key];
      if (!row) { row = make(item); row.setAttribute(keyName, key); }
      if (row.__sign !== sign) { fill(row, item); row.__sign = sign; }
      if (box.children[i] !== row) { box.insertBefore(row, box.children[i] || null); }
    }
    for (id in kept) { if (!wanted[id]) { box.removeChild(kept[id]); } }
  }

  function makeBoardRow() {
    var row = el("div", "board-row");
    var what = el("div", "board-what");
    what.appendChild(el("span", "board-item"));
    what.appendChild(el("span", "board-area"));
    var clock = el("div", "board-clock");
    clock.appendChild(el("span", "countdown"));
    clock.appendChild(el("div", "board-due"));
    row.appendChild(what);
    row.appendChild(el("div", "board-stage"));
    row.appendChild(clock);
    return row;
  }

  function fillBoardRow(row, r) {
    row.className = "board-row" + (r.alarm ? " flash" : "");
    row.setAttribute("data-due", r.due);
    row.setAttribute("data-warn", r.warn);
    row.setAttribute("data-band", r.band);
    setText(row.children[0].children[0], r.item);
    setText(row.children[0].children[1], r.area);
    setText(row.children[1], r.stage);
    setText(row.children[2].children[1], r.due_label);
    var alarm = row.querySelector(".board-alarm");  // there only while a breach awaits its lead
    if (r.alarm && !alarm) { row.appendChild(el("div", "board-alarm", r.alarm)); }
    else if (alarm && !r.alarm) { row.removeChild(alarm); }
    else if (alarm) { setText(alarm, r.alarm); }
  }

  function makeFeedEntry() {
    var entry = el("div", "feed-entry"), head = el("div", "feed-head");
    head.appendChild(el("span", "feed-time"));
    head.appendChild(el("span", "feed-item"));
    entry.appendChild(head);
    entry.appendChild(el("div", "feed-area"));
    entry.appendChild(el("div", "feed-text"));
    return entry;
  }

  function fillFeedEntry(entry, e) {
    setText(entry.children[0].children[0], e.time);
    setText(entry.children[0].children[1], e.item);
    setText(entry.children[1], e.area);
    setText(entry.children[2], e.text);
  }

  function makeTrack(prefix) {  // a bar and last week's marker on one scale: categories, trend
    var track = el("div", prefix + "-track");
    track.appendChild(el("div", prefix + "-bar"));
    track.appendChild(el("div", prefix + "-last"));
    return track;
  }

  function makeCategoryRow() {
    var row = el("div", "cat-row");
    row.appendChild(el("div", "cat-name"));
    row.appendChild(makeTrack("cat"));
    row.appendChild(el("div", "cat-count"));
    return row;
  }

  function fillCategoryRow(row, c) {
    setText(row.children[0], c.name);
    row.children[1].children[0].style.width = c.bar + "%";
    row.children[1].children[1].style.left = c.last + "%";
    row.children[1].children[1].title = c.title;
    setText(row.children[2], c.count);
  }

  function makeTrendColumn() {
    var column = el("div", "trend-col");
    column.appendChild(makeTrack("trend"));
    column.appendChild(el("div", "trend-hour"));
    return column;
  }

  function fillTrendColumn(column, c) {
    var track = column.children[0];
    track.children[0].style.height = c.bar + "%";
    track.children[1].style.bottom = c.last + "%";
    track.title = c.title;
    setText(column.children[1], c.hour);
  }

  function drawTrend(trend) {  // columns keyed by their slot (0: 24 hours ago), kept as the hours move
    var box = document.getElementById("wall-trend"), axis = document.querySelector(".trend-axis");
    if (!box) { return; }
    drawRows(box, (trend && trend.columns) || [], makeTrendColumn, fillTrendColumn, "data-slot");
    if (axis) {
      setText(axis.children[0], (trend && trend.top) || "");
      setText(axis.children[1], (trend && trend.mid) || "");
    }
  }

  // ------------------------------------------------------------------ the slow panels

  function screenScale() { return Math.max(1, window.innerWidth / 1920); }

  function mapMode() {
    var checked = document.querySelector("#wall-map-mode input:checked");
    return checked ? checked.value : "count";
  }

  function plotOf(id) {  // the graph's plot div, once dcc.Graph has drawn it
    var gd = document.querySelector("#" + id + " .js-plotly-plot");
    return gd && gd._fullLayout && gd.data && window.Plotly ? gd : null;
  }

  function scaled(size, s) { return Math.round(size * s); }

  function mapFigure(gd, style, s) {
    var base = gd.__baseFont || (gd.__baseFont = gd.layout.font.size);
    var trace = Object.assign({}, gd.data[0], style);
    trace.colorbar = Object.assign({}, style.colorbar, { thickness: scaled(style.colorbar.thickness, s) });
    var layout = Object.assign({}, gd.layout, {
      font: Object.assign({}, gd.layout.font, { size: scaled(base, s) }),
      hoverlabel: { font: { size: scaled(base * 1.2, s) } }
    });
    return { data: [trace], layout: layout };
  }

  // Restyle the map when what it should show differs from what it shows (a plot div whose
  // trace is not the one drawn here, dcc.Graph drew it: the page's own figure, firstDrawn;
  // after a drill-down dcc.Graph redraws the same div for the new wall). When only its values
  // changed (the same mode, legend and screen: the same `look`), the map is recoloured by
  // plotly.js's own choropleth style function; anything else is a whole Plotly.react. Each
  // Plotly.react left V8 more machine code, for hundreds of redraws, and an open wall's heap
  // grew with it; a recolour runs a few small functions (docs/wall.md, "Memory over days").
  function drawGraphs() {
    if (!panels) { return; }
    var s = screenScale(), mode = mapMode(), gd = plotOf("wall-map"), style = panels.map && panels.map[mode];
    if (!gd || !style) { return; }
    var shown = panels.keys[mode] + "|" + s, look = panels.looks[mode] + "|" + s;
    if (gd.__trace !== gd.data[0]) { gd.__shown = firstDrawn.shown; gd.__look = firstDrawn.look; }
    if (gd.__shown === shown) { return; }
    if (gd.__look !== look || !recolour(gd, style.z)) {
      var m = mapFigure(gd, style, s);
      window.Plotly.react(gd, m.data, m.layout);
      gd.__look = look;
    }
    gd.__shown = shown;
    gd.__trace = gd.data[0];
  }

  // New values on the map as drawn: each location's calc point (the datum its path is bound
  // to, which hover reads too) takes its value, and the trace module's style() fills the
  // paths from the trace's colour scale, as Plotly.react would (a browser test compares the
  // two). False, with nothing changed, if the plot is not laid out as expected: the caller
  // then redraws it whole.
  function recolour(gd, z) {
    var trace = gd._fullData && gd._fullData[0], points = gd.calcdata && gd.calcdata[0], k;
    if (!trace || trace.type !== "choropleth" || !trace._module || typeof trace._module.style !== "function" ||
        !points || points.length !== z.length) { return false; }
    for (k = 0; k < points.length; k++) { if (points[k].index !== k) { return false; } }
    for (k = 0; k < points.length; k++) { points[k].z = z[k]; }
    gd.data[0].z = trace.z = z.slice();
    trace._module.style(gd, points);
    return true;
  }

  // What the map shows in each mode (keys), and how: all of it but the values (looks).
  function keysOf(state) {
    var keys = {}, looks = {};
    for (var mode in state.map) {
      var style = state.map[mode], rest = {};
      for (var name in style) { if (name !== "z") { rest[name] = style[name]; } }
      keys[mode] = JSON.stringify(style);
      looks[mode] = JSON.stringify(rest);
    }
    return { keys: keys, looks: looks };
  }

  // A panels state; none (the page was rendered while Redis was down) leaves the map as the
  // page drew it and says the categories and the trend have no figures yet.
  function drawPanels(state) {
    var box = document.getElementById("wall-categories");
    if (state || !panels) {
      if (box) { drawRows(box, (state && state.categories) || [], makeCategoryRow, fillCategoryRow, "data-category"); }
      drawTrend(state && state.trend);
    }
    if (!state) { return; }
    var known = keysOf(state);
    state.keys = known.keys;
    state.looks = known.looks;
    panels = state;
    drawGraphs();
    document.dispatchEvent(new CustomEvent("gridwall:panels", { detail: { sign: state.sign, ms: state.ms, at: state.at } }));
  }

  function draw(state, force) {
    var r = root();
    if (!state || !r) { return; }
    if (!force && state.seq < shownSeq) { return; }  // an older state than the one shown
    var kpis = document.getElementById("wall-kpis"), board = document.getElementById("wall-board");
    var feed = document.getElementById("wall-feed-list");
    if (!kpis || !board || !feed) { return; }
    drawKpis(kpis, state.kpis, state.seq);
    drawRows(board, state.board, makeBoardRow, fillBoardRow);
    drawRows(feed, state.feed, makeFeedEntry, fillFeedEntry);
    shownSeq = state.seq;
    tickRows(Date.now(), textFor(r));
  }

  // The page's own state: drawn as soon as the page is in the DOM, and again whenever Dash
  // renders another wall (drill-down, language switch) into it.
  function adopt() {
    var holder = document.getElementById("wall-state");
    var text = holder && holder.getAttribute("data-state");
    if (!text || text === adoptedState) { return; }
    adoptedState = text;
    var state = null, slow = null;
    try {
      state = JSON.parse(text);
      slow = JSON.parse(holder.getAttribute("data-panels") || "null");
    } catch (e) { return; }
    var r = root();
    if (r && wallKey(r) !== streamKey) { open(r); }
    draw(state, true);
    panels = null;
    var known = slow && keysOf(slow);
    firstDrawn = known ? { shown: known.keys.count + "|1", look: known.looks.count + "|1" } : {};
    drawPanels(slow);
    restoreMode();
  }

  // ------------------------------------------------------------------ the stream

  function setLive(up) {
    live = up;
    document.documentElement.dataset.live = up ? "up" : "down";
    if (up) { lastLive = Date.now(); }
  }

  function heard(data) {
    lastHeard = Date.now();
    if (data && data.live === false) { setLive(false); }
    else if (data && data.live === true) { setLive(true); }
  }

  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  }

  function open(r) {
    close();
    streamKey = wallKey(r);
    shownSeq = -1;
    lastHeard = lastPoll = lastOpen = Date.now();
    source = new EventSource("/wall/stream/" + streamKey);
    source.addEventListener("hello", function (e) {
      var data = parse(e);
      heard(data);
      if (data && data.state) { draw(data.state, true); }  // this stream's start: take it whole
      if (data && data.panels) { drawPanels(data.panels); }
    });
    source.addEventListener("ping", function (e) { heard(parse(e)); });
    source.addEventListener("status", function (e) {
      var data = parse(e);
      heard(data);
      if (data && data.state) { draw(data.state, true); }  // after an outage: read afresh
      if (data && data.panels) { drawPanels(data.panels); }
    });
    source.addEventListener("panels", function (e) {
      var data = parse(e);
      heard({ live: true });
      drawPanels(data);
    });
    source.addEventListener("change", function (e) {
      var data = parse(e);
      heard({ live: true });
      if (!data) { return; }
      document.dispatchEvent(new CustomEvent("gridwall:change", { detail: data }));
      if (data.state) { draw(data.state, false); }
    });
    source.onerror = function () {
      // The browser reconnects by itself (retry: 1 s); until it does, we are down.
      if (source && source.readyState !== EventSource.OPEN) { setLive(false); }
    };
  }

  function close() {
    if (source) { source.close(); source = null; }
    streamKey = null;
  }

  // The fallback while the stream is down: fetch the live state, and the panels every
  // PANELS_POLL_MS (an answer is dropped if the stream came back meanwhile, or the wall
  // changed).
  function poll(now) {
    var key = streamKey, withPanels = now - lastPanelsPoll > PANELS_POLL_MS;
    if (polling || !key) { return; }
    polling = true;
    if (withPanels) { lastPanelsPoll = now; }
    var get = function (what) {
      return fetch("/wall/" + what + "/" + key, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; });
    };
    Promise.all([get("state"), withPanels ? get("panels") : null])
      .then(function (found) {
        if (live || key !== streamKey) { return; }
        if (found[0]) { draw(found[0], false); }
        if (found[1]) { drawPanels(found[1]); }
      })
      .catch(function () { /* still down: the banner says so */ })
      .then(function () { polling = false; });
  }

  // ------------------------------------------------------------------ the nightly refresh

  // Once a day, at a quiet hour, a live wall loads itself afresh: whatever the browser holds
  // for it (V8 optimises more code at each redraw of the slow panels; docs/wall.md) starts again
  // from a fresh page. The hour is the page's data-refresh-at ("HH:MM", Asia/Shanghai; none:
  // never), plus up to data-refresh-spread minutes chosen at random per screen, so that a
  // centre's screens do not reload at the same moment. Before it reloads, the wall fetches
  // its own page and state: an answer that is not them (a login that has lapsed, which would
  // put a login form on the screen; a server restarting; Redis down) leaves the wall as it
  // is, to try again every REFRESH_RETRY_MS within REFRESH_WINDOW_MS, then the next day.
  // A map shown by anomaly comes back by anomaly (sessionStorage, read once in adopt).
  var DAY_MS = 86400000, SHANGHAI_MS = 8 * 3600000;  // China keeps no daylight saving time
  var REFRESH_RETRY_MS = 60000, REFRESH_WINDOW_MS = 2 * 3600000, REFRESH_ASK_MS = 15000;
  var MODE_KEY = "gridwall:map-mode";
  var loadedAt = Date.now(), refreshJitter = Math.random(), refreshDue = null, refreshRetry = 0;
  var refreshing = false;

  // The first refresh hour after `after` (a page loaded inside the window waits for the
  // next day's, so one refresh never leads to another), plus this screen's share of the spread.
  function nextRefresh(after, r) {
    var at = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(r.getAttribute("data-refresh-at") || "");
    if (!at) { return 0; }
    var spread = Math.max(0, Number(r.getAttribute("data-refresh-spread")) || 0) * 60000;
    var start = Math.floor((after + SHANGHAI_MS) / DAY_MS) * DAY_MS - SHANGHAI_MS +
      (Number(at[1]) * 60 + Number(at[2])) * 60000;
    return (start > after ? start : start + DAY_MS) + Math.floor(refreshJitter * spread);
  }

  function refreshIfDue(r, now) {
    if (refreshDue === null) { refreshDue = nextRefresh(loadedAt, r); }
    if (!refreshDue || refreshing || now < refreshDue || now < refreshRetry) { return; }
    if (now > refreshDue + REFRESH_WINDOW_MS) { refreshDue = nextRefresh(now, r); return; }
    if (!live || !streamKey) { return; }  // down: the banner is up, and a reload would not help
    refreshing = true;
    var ask = function (url, type) {
      return fetch(url, { credentials: "same-origin", cache: "no-store",  // a hung answer is a no
                          signal: AbortSignal.timeout(REFRESH_ASK_MS) }).then(function (response) {
        var got = response.headers.get("Content-Type") || "";
        if (!response.ok || response.redirected || got.indexOf(type) !== 0) { throw new Error(url); }
      });
    };
    Promise.all([ask(location.href, "text/html"), ask("/wall/state/" + streamKey, "application/json")])
      .then(function () {
        try { if (mapMode() === "anomaly") { sessionStorage.setItem(MODE_KEY, "anomaly"); } }
        catch (e) { /* no storage: the map comes back by count */ }
        document.documentElement.dataset.refresh = "reloading";
        location.reload();
      })
      .catch(function () {
        document.documentElement.dataset.refresh = "declined";
        refreshRetry = Date.now() + REFRESH_RETRY_MS;
        refreshing = false;
      });
  }

  function restoreMode() {  // after a refresh, the map mode the screen had
    var mode = null;
    try { mode = sessionStorage.getItem(MODE_KEY); sessionStorage.removeItem(MODE_KEY); } catch (e) { return; }
    if (mode !== "anomaly") { return; }
    var input = document.querySelector('#wall-map-mode input[value="anomaly"]');
    if (input && !input.checked) { input.click(); }
  }

  // ------------------------------------------------------------------ the ticker

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

  function textFor(r) { return TEXT[r.getAttribute("lang")] || TEXT["zh-CN"]; }

  function tickRows(now, text) {
    var rows = document.querySelectorAll(".board-row[data-due]");
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], due = Date.parse(row.getAttribute("data-due"));
      var warn = Date.parse(row.getAttribute("data-warn"));
      var countdown = row.querySelector(".countdown");
      if (isNaN(due)) { continue; }
      if (countdown) { setText(countdown, formatLeft(due - now, text)); }
      var band = due <= now ? "red" : (!isNaN(warn) && warn <= now ? "amber" : "green");
      if (row.getAttribute("data-band") !== "red" || band === "red") { row.setAttribute("data-band", band); }
    }
  }

  function tick() {
    var r = root(), now = Date.now();
    if (!r) { close(); adoptedState = null; panels = null; return; }
    adopt();
    if (wallKey(r) !== streamKey) { open(r); }
    // The browser gives up on a stream answered with an error status (a restarting server,
    // a login that Redis could not confirm); try again every REOPEN_MS.
    else if (source && source.readyState === EventSource.CLOSED && now - lastOpen > REOPEN_MS) { open(r); }
    if (now - lastHeard > STALE_MS) { setLive(false); }
    if (!live && now - lastPoll > POLL_MS) { lastPoll = now; poll(now); }
    drawGraphs();  // a graph dcc.Graph drew after the panels came, a new size, a new mode
    var text = textFor(r);
    var clock = document.getElementById("wall-clock");
    if (clock) { clock.textContent = clockFormat.format(new Date(now)).replace(/\//g, "-"); }
    var updated = document.getElementById("wall-updated");
    if (updated) {
      var since = Math.max(0, Math.round((now - (lastLive || now)) / 1000));
      updated.textContent = text.updated.replace("{n}", since);
    }
    tickRows(now, text);
    refreshIfDue(r, now);
  }

  // Draw the page's first state the moment Dash puts the wall in the DOM, not a tick later.
  new MutationObserver(function () { if (document.getElementById("wall-state")) { adopt(); } })
    .observe(document.documentElement, { childList: true, subtree: true, attributes: true,
      attributeFilter: ["data-state"] });

  document.addEventListener("change", function (e) {
    if (e.target && e.target.closest && e.target.closest("#wall-map-mode")) { drawGraphs(); }
  });
  window.addEventListener("resize", drawGraphs);

  window.gridWall = { isLive: function () { return live; }, area: function () {
    return streamKey && streamKey.split("?")[0]; }, refreshDue: function () { return refreshDue; },
    recolour: recolour };  // for bench/map_redraw.py
  setInterval(tick, TICK_MS);
  document.addEventListener("DOMContentLoaded", tick);
})();
