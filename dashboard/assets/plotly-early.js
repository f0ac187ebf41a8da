/* Start plotly.js with the page, not when the first graph mounts.

   dcc.Graph loads plotly.js itself, but only once it mounts: after dash-renderer has fetched
   the layout, the callbacks and the page's content (three round trips). On a busy 2-core
   wall host plotly.js then took 0.5-0.9 s to fetch, compile and run before the map could be
   drawn (bench/RESULTS.md). This script, run with the page's other scripts, fetches it at
   once, so it arrives and runs while those round trips are still out.

   It must not be loaded twice. dcc.Graph waits for `Promise.resolve(window.Plotly || <its
   own script tag>)`; until plotly.js has run, window.Plotly here is a thenable that settles
   when this script tag has loaded, so a graph mounting early waits for this download
   instead of starting its own. plotly.js replaces window.Plotly with itself when it runs.
   Only on pages that draw graphs (walls, console, metrics); others load it as Dash does. */
(function () {
  "use strict";
  var GRAPH_PAGES = /^\/(wall|console|metrics)(\/|$)/;
  if (window.Plotly || !GRAPH_PAGES.test(window.location.pathname)) { return; }
  var prefix = "/";
  try {
    prefix = JSON.parse(document.getElementById("_dash-config").textContent).requests_pathname_prefix || "/";
  } catch (e) { /* the default prefix */ }
  var script = document.createElement("script");
  var loaded = new Promise(function (resolve, reject) {
    script.onload = function () { resolve(); };
    script.onerror = function (error) {
      if (window.Plotly === placeholder) { delete window.Plotly; }  // let dcc.Graph try its own
      reject(error);
    };
  });
  var placeholder = { then: function (resolve, reject) { return loaded.then(resolve, reject); } };
  window.Plotly = placeholder;
  script.src = prefix + "_dash-component-suites/plotly/package_data/plotly.min.js";
  script.async = true;
  document.head.appendChild(script);
})();
