/* Territorial map (vanilla JS over the vendored Leaflet and topojson-client, nothing
   from outside the server).

   Layers, bottom to top:
     land    (pane "land", no events)   states filled, from us-atlas
     areas   (overlay canvas)           counties filled with the territory holding them
     accounts(same canvas as areas)     server-side clusters, or points when zoomed in
     lines   (pane "lines", no events)  state, county and territory borders
     labels  (pane "labels", no events) city names by population, territory names
     reps    (marker pane)              rep home bases
   Areas and accounts share ONE canvas renderer: Leaflet hit-tests every layer of a
   canvas in drawing order, so a point drawn above a county gets its hover and click
   and the county gets them everywhere else. Panes without events never swallow any. */
(function () {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const money = (v) => "$" + fmt.format(v || 0);
  const pct = (v) => (v >= 0 ? "+" : "−") + (Math.abs(v) * 100).toFixed(1) + "%";
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const cache = {};

  function fetchJSON(url, options) {
    return fetch(url, Object.assign({ credentials: "same-origin" }, options || {})).then((r) => {
      if (!r.ok) return r.json().catch(() => ({})).then((e) => { throw new Error(e.message || r.statusText); });
      return r.json();
    });
  }
  function once(prefix, name) {
    if (!cache[name]) cache[name] = fetchJSON(prefix + "/basemap/" + name + ".json");
    return cache[name];
  }
  // City tiers: the largest first, more as one zooms in (rank limit per minimum zoom).
  const CITY_TIERS = [[0, 12, 3], [12, 40, 5], [40, 120, 6], [120, 350, 7], [350, 1200, 8]];

  function initMap(el) {
    const prefix = el.dataset.prefix, mini = el.dataset.mini === "1";
    let plan = el.dataset.plan;
    const editable = el.dataset.editable === "1";
    const bounds = el.dataset.bounds ? JSON.parse(el.dataset.bounds) : null;
    const map = L.map(el, { zoomSnap: 0.25, zoomDelta: 0.5, attributionControl: false, minZoom: 2, maxZoom: 14,
      boxZoom: false, wheelPxPerZoomLevel: 90 });
    if (bounds) map.fitBounds(bounds, { padding: mini ? [6, 6] : [24, 24], maxZoom: 9 });
    else map.setView([39, -96], mini ? 3 : 4);
    el._map = map;
    const state = { color: "territory", colors: null, selected: new Map(), areas: null, byTerritory: {},
      ready: { base: false, areas: false, acc: false }, selecting: false };
    const markReady = (part) => {
      state.ready[part] = true;
      if (state.ready.base && state.ready.areas && state.ready.acc) el.dataset.ready = "1";
    };
    const pane = (name, z) => { const p = map.createPane(name); p.style.zIndex = z; p.style.pointerEvents = "none"; return p; };
    pane("land", 150); pane("lines", 450); pane("labels", 460);
    const hit = L.canvas({ padding: 0.3, tolerance: 3 });
    const lineCanvas = L.canvas({ pane: "lines", padding: 0.3 });
    const landCanvas = L.canvas({ pane: "land", padding: 0.3 });

    // --- base map: states, county lines from zoom 6, cities -----------------------------
    const land = L.geoJSON(null, { pane: "land", renderer: landCanvas, interactive: false,
      style: { stroke: false, fillColor: "#fbfaf5", fillOpacity: 1 } }).addTo(map);
    const stateLines = L.geoJSON(null, { pane: "lines", renderer: lineCanvas, interactive: false,
      style: { color: "#7b8794", weight: 1.1, opacity: 0.9, fill: false } }).addTo(map);
    const countyLines = L.geoJSON(null, { pane: "lines", renderer: lineCanvas, interactive: false,
      style: { color: "#8d99a6", weight: 0.4, opacity: 0.7, fill: false } });
    const outlines = L.geoJSON(null, { pane: "lines", renderer: lineCanvas, interactive: false,
      style: { color: "#2b3440", weight: 1.8, opacity: 0.85, fill: false } }).addTo(map);
    once(prefix, "states-10m").then((topo) => {
      land.addData(topojson.feature(topo, topo.objects.nation || topo.objects.states));
      stateLines.addData(topojson.mesh(topo, topo.objects.states, (a, b) => a !== b));
      markReady("base");
    }).catch(() => markReady("base"));
    let countyLinesLoaded = false;
    function zoomDependent() {
      const z = map.getZoom();
      if (z >= 6 && !countyLinesLoaded) {
        countyLinesLoaded = true;
        once(prefix, "counties-10m").then((topo) => {
          countyLines.addData(topojson.mesh(topo, topo.objects.counties, (a, b) => a !== b && (a.id / 1000 | 0) === (b.id / 1000 | 0)));
        });
      }
      if (z >= 6) countyLines.addTo(map); else countyLines.remove();
      placeLabels(false);
    }
    // --- labels: city names and territory names, placed together in screen space ------
    // At each zoom and view (and when the territories redraw) every label gets a box in
    // pixels and is placed in this order, so no two labels overlap:
    //   1. the TOP_CITIES largest cities in view (a sales leader's landmarks), largest
    //      first; one next to a larger one's label is left out;
    //   2. territory names, largest territory first, each at its label point or nudged
    //      (up or down, then sideways) to the nearest spot clear of the labels placed so
    //      far that is still inside its territory (or, for a territory too small at this
    //      zoom, beside it); only where no such spot exists does the name win over the
    //      top cities it covers (a name over another territory's name with nowhere to go
    //      is left out);
    //   3. every other city, largest first, where its label is clear of all the above.
    // No city is named under the map's controls (zoom buttons, legend).
    const TOP_CITIES = 8;
    let cities = [], territoryLabels = [], labelMinZoom = 99, placedFor = null;
    const cityLayer = L.layerGroup().addTo(map);
    const labelLayer = L.layerGroup().addTo(map);
    const cityMarkers = new Map();
    // Label boxes, in pixels around the anchor; the CSS (.city, .terr-label) fixes their
    // line heights so these are the boxes the browser draws, text widths measured once.
    const measure = document.createElement("canvas").getContext("2d");
    const family = getComputedStyle(el).fontFamily || "sans-serif";
    const widths = new Map();
    function textWidth(text, font, spacing) {
      const key = font + "|" + text;
      if (!widths.has(key)) {
        measure.font = `${font} ${family}`;
        widths.set(key, measure.measureText(text).width + spacing * text.length);
      }
      return widths.get(key);
    }
    const PAD = 2;  // pixels kept clear around every label
    function cityBox(pt, name) {  // dot at the anchor, name to its right (iconAnchor [3, 8])
      return { x0: pt.x - 3 - PAD, y0: pt.y - 8 - PAD, x1: pt.x + 5 + textWidth(name, "11px", 0) + PAD, y1: pt.y + 6 + PAD };
    }
    function nameBox(pt, name) {  // centred on the anchor, 15 px line
      const w = textWidth(name, "bold 12px", 0.2) / 2;
      return { x0: pt.x - w - PAD, y0: pt.y - 7.5 - PAD, x1: pt.x + w + PAD, y1: pt.y + 7.5 + PAD };
    }
    const overlaps = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
    // Boxes placed so far, bucketed in a grid so each test looks at its neighbours only.
    function boxGrid() {
      const cell = 128, cells = new Map(), all = [];
      const keys = (b, f) => {
        for (let i = Math.floor(b.x0 / cell); i <= Math.floor(b.x1 / cell); i++)
          for (let k = Math.floor(b.y0 / cell); k <= Math.floor(b.y1 / cell); k++) f(i + "," + k);
      };
      return {
        add(b) { all.push(b); keys(b, (key) => { if (!cells.has(key)) cells.set(key, []); cells.get(key).push(b); }); },
        hits(b) {
          const out = new Set();
          keys(b, (key) => (cells.get(key) || []).forEach((o) => { if (!o.gone && overlaps(o, b)) out.add(o); }));
          return [...out];
        },
      };
    }
    // Is (lon, lat) inside one of territory j's counties? (even-odd over each polygon's rings)
    function insideTerritory(shapes, lon, lat) {
      return (shapes || []).some(([bb, polygons]) => lon >= bb[0] && lon <= bb[2] && lat >= bb[1] && lat <= bb[3] &&
        polygons.some((rings) => {
          let inside = false;
          rings.forEach((ring) => {
            for (let i = 0, k = ring.length - 1; i < ring.length; k = i++) {
              const [xi, yi] = ring[i], [xk, yk] = ring[k];
              if ((yi > lat) !== (yk > lat) && lon < ((xk - xi) * (lat - yi)) / (yk - yi) + xi) inside = !inside;
            }
          });
          return inside;
        }));
    }
    // Where a territory's name may go, nearest first: up and down its label point, then
    // sideways (in pixels).
    const NUDGES = [[0, 0]];
    for (let dy = 6; dy <= 48; dy += 6) NUDGES.push([0, -dy], [0, dy]);
    [[1, 0], [-1, 0], [1, -1], [-1, -1], [1, 1], [-1, 1]].forEach(([sx, sy]) => {
      for (const d of [20, 40, 60]) NUDGES.push([sx * d, sy * d * 0.6]);
    });
    function cityMarker(i) {
      if (!cityMarkers.has(i)) {
        const [name, , lat, lon] = cities[i];
        cityMarkers.set(i, L.marker([lat, lon], { pane: "labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "city", html: `<i></i><span>${esc(name)}</span>`, iconSize: null, iconAnchor: [3, 8] }) }));
      }
      return cityMarkers.get(i);
    }
    function placeLabels(force) {
      const z = map.getZoom();
      const view = map.getPixelBounds();
      const key = `${z}|${view.min.x}|${view.min.y}|${view.max.x}|${view.max.y}`;
      if (!force && key === placedFor) return;
      placedFor = key;
      // candidates: the largest cities for this zoom within the view and half a view around
      const size = view.getSize();
      const near = L.bounds(view.min.subtract(size.divideBy(2)), view.max.add(size.divideBy(2)));
      const limit = mini ? 12 : CITY_TIERS.filter(([, , minZoom]) => Math.round(z) >= minZoom).reduce((m, [, to]) => Math.max(m, to), 0);
      const candidates = [];
      cities.slice(0, limit).forEach(([name, , lat, lon], i) => {
        const pt = map.project([lat, lon], z);
        if (near.contains(pt)) candidates.push({ i: i, pt: pt, box: cityBox(pt, name), top: false });
      });
      candidates.filter((c) => view.contains(c.pt)).slice(0, TOP_CITIES).forEach((c) => { c.top = true; });
      const grid = boxGrid();
      const shown = new Set();
      // the map's controls (zoom buttons, legend) hide what is under them: no city there
      const frame = el.getBoundingClientRect();
      const controls = [...el.querySelectorAll(".leaflet-control")].map((c) => c.getBoundingClientRect())
        .filter((r) => r.width && r.height).map((r) => ({ x0: view.min.x + r.left - frame.left, y0: view.min.y + r.top - frame.top,
          x1: view.min.x + r.right - frame.left, y1: view.min.y + r.bottom - frame.top }));
      const blocked = (box) => grid.hits(box).length || controls.some((r) => overlaps(r, box));
      // 1. the top cities
      candidates.filter((c) => c.top).forEach((c) => {
        if (blocked(c.box)) return;
        c.box.city = c;
        grid.add(c.box);
        shown.add(c);
      });
      // 2. territory names
      labelLayer.clearLayers();
      if (z >= labelMinZoom) {
        territoryLabels.forEach((t) => {
          const pt = map.project(t.latlng, z);
          let spot = null;
          // a spot clear inside the territory; else (a territory too small at this zoom)
          // the nearest clear spot beside it
          for (const inside of [true, false]) {
            for (const [dx, dy] of NUDGES) {
              const p = L.point(pt.x + dx, pt.y + dy), box = nameBox(p, t.name);
              if (grid.hits(box).length) continue;
              const ll = dx || dy ? map.unproject(p, z) : t.latlng;
              if (inside && (dx || dy) && !insideTerritory(t.shapes, ll.lng, ll.lat)) continue;
              spot = { ll: ll, box: box };
              break;
            }
            if (spot) break;
          }
          if (!spot) {  // nowhere clear near its point: the name wins over top cities
            const box = nameBox(pt, t.name), hits = grid.hits(box);
            if (hits.some((o) => !o.city)) return;
            hits.forEach((o) => { o.gone = true; shown.delete(o.city); });
            spot = { ll: t.latlng, box: box };
          }
          grid.add(spot.box);
          t.marker.setLatLng(spot.ll).addTo(labelLayer);
        });
      }
      // 3. the other cities
      candidates.filter((c) => !c.top).forEach((c) => {
        if (blocked(c.box)) return;
        grid.add(c.box);
        shown.add(c);
      });
      cityLayer.clearLayers();
      shown.forEach((c) => cityMarker(c.i).addTo(cityLayer));
      el.dataset.labels = String(z);  // placed for this zoom (the browser tests wait on it)
    }
    once(prefix, "cities").then((list) => { cities = list; cityMarkers.clear(); placeLabels(true); })
      .catch((e) => console.warn("city labels:", e.message));

    // --- territories as areas of counties --------------------------------------------
    const areas = L.geoJSON(null, { renderer: hit,
      style: (f) => areaStyle(f.properties),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        layer.bindTooltip(() => areaTip(p), { sticky: true, direction: "top", offset: [0, -8] });
        layer.on("mouseover", () => { layer.setStyle({ weight: 2, color: "#111", opacity: 1 }); highlightLegend(p.j, true); });
        layer.on("mouseout", () => { areas.resetStyle(layer); highlightLegend(p.j, false); });
        layer.on("click", (e) => {
          L.DomEvent.stop(e);
          if (editable) selectCounty(p); else showTerritory(p.j);
        });
      },
    }).addTo(map);
    // Fill of a county: its territory's colour, or (colour by attainment or signals)
    // the territory's class; faded under accounts coloured by tier or potential.
    function areaStyle(p) {
      const fills = state.colors && state.colors.fills;
      const fill = fills ? fills[p.j] || "#ddd" : p.color;
      return { stroke: true, color: fill, weight: 0.3, opacity: 0.6, fillColor: fill,
        fillOpacity: fills ? 0.7 : state.color === "territory" ? 0.55 : 0.18 };
    }
    function performanceTip(j) {
      const r = state.colors && state.colors.territories && state.colors.territories[j];
      if (!r || !r.id) return "";
      if (state.color === "attainment") {
        return `<br><b>pace to date ${r.pace == null ? "– (no quota)" : (r.pace * 100).toFixed(0) + "%"}</b>` +
          ` · bookings ${money(r.bookings)}` + (r.quota_to_date == null ? "" : ` of ${money(r.quota_to_date)} phased quota`);
      }
      return `<br><b>${r.signals} signal${r.signals === 1 ? "" : "s"}</b>` +
        (r.worst ? `<br><small>worst: ${esc(r.worst.message)}</small>` : "");
    }
    function areaTip(p) {
      const t = state.areas.territories[p.j];
      const dev = state.areas.balanced.map((m) => `${m} ${pct(t.deviation[m])}`).join(" · ");
      return `<b>${esc(t.name)}</b>${performanceTip(p.j)}<br>${fmt.format(t.accounts)} accounts · potential ${money(t.potential)}<br>` +
        `workload ${fmt.format(t.workload)} h · pipeline ${money(t.pipeline)}<br><small>vs mean: ${esc(dev)}</small>` +
        `<br><small class="muted">${esc(p.name)} county: ` +
        (p.n ? `${fmt.format(p.n)} accounts` + (editable ? " · click to select them" : "") : "no accounts, nearest territory's") + "</small>";
    }
    function counties10m() {
      if (!cache.countyById) cache.countyById = once(prefix, "counties-10m").then((topo) => {
        const byId = {};
        topo.objects.counties.geometries.forEach((g) => { byId[g.id] = g; });
        return { topo: topo, byId: byId };
      });
      return cache.countyById;
    }
    function loadAreas() {
      return Promise.all([fetchJSON(`${prefix}/api/territory-areas?plan=${plan}`), counties10m()]).then(([res, c]) => {
        state.areas = res;
        const features = [];
        const owner = {};
        Object.entries(res.counties).forEach(([fips, [j, n]]) => {
          const g = c.byId[fips];
          if (!g) return;
          owner[fips] = j;
          const f = topojson.feature(c.topo, g);
          const t = res.territories[j];
          f.properties = { fips: fips, name: (g.properties && g.properties.name) || fips, j: j, n: n, color: t.color };
          features.push(f);
        });
        areas.clearLayers();
        areas.addData({ type: "FeatureCollection", features: features });
        areas.eachLayer((l) => l.bringToBack());
        // borders between territories (and around them), none inside one
        outlines.clearLayers();
        outlines.addData(topojson.mesh(c.topo, c.topo.objects.counties, (a, b) => {
          const ta = owner[a.id], tb = owner[b.id];
          return a === b ? ta !== undefined : ta !== tb;
        }));
        renderLegend();
        drawLabels(res, features);
        markReady("areas");
      });
    }
    // Territory names (placed with the cities by placeLabels), largest territory first,
    // each with its counties' shapes so a nudged name stays inside its territory.
    function drawLabels(res, features) {
      const shapes = {};
      features.forEach((f) => {
        const g = f.geometry, polygons = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
        const bb = [Infinity, Infinity, -Infinity, -Infinity];
        polygons.forEach((rings) => rings[0].forEach(([x, y]) => {
          bb[0] = Math.min(bb[0], x); bb[1] = Math.min(bb[1], y); bb[2] = Math.max(bb[2], x); bb[3] = Math.max(bb[3], y);
        }));
        (shapes[f.properties.j] = shapes[f.properties.j] || []).push([bb, polygons]);
      });
      const shown = res.territories.map((t, j) => [t, j]).filter(([t]) => t.id && t.label);
      // names at every zoom for a few territories; for many, once zoomed in
      labelMinZoom = mini ? 99 : shown.length <= 25 ? 0 : shown.length <= 60 ? 5 : 6.5;
      shown.sort((a, b) => b[0].accounts - a[0].accounts || a[0].name.localeCompare(b[0].name));
      territoryLabels = shown.map(([t, j]) => ({ name: t.name, latlng: L.latLng(t.label), shapes: shapes[j],
        marker: L.marker(t.label, { pane: "labels", interactive: false, keyboard: false,
          icon: L.divIcon({ className: "terr-label", html: `<span>${esc(t.name)}</span>`, iconSize: null }) }) }));
      placeLabels(true);
    }

    // --- legend: rep, potential, workload, deviation -----------------------------------
    let legend = null;
    function renderLegend() {
      if (mini || !state.areas) return;
      if (state.color === "territory" || !state.colors) drawLegend(state.areas);
      else drawClassLegend(state.colors);
      legend.getContainer().dataset.mode = state.colors ? state.colors.by : "territory";
      const toggleBtn = legend.getContainer().querySelector("[data-testid=legend-toggle]");
      toggleBtn.textContent = legend.getContainer().classList.contains("collapsed") ? "show" : "hide";
      toggleBtn.addEventListener("click", () => {
        const hidden = legend.getContainer().classList.toggle("collapsed");
        toggleBtn.textContent = hidden ? "show" : "hide";
        placeLabels(true);
      });
      legend.getContainer().querySelectorAll("tr[data-j]").forEach((tr) => {
        const j = Number(tr.dataset.j);
        tr.addEventListener("mouseenter", () => territoryStyle(j, true));
        tr.addEventListener("mouseleave", () => territoryStyle(j, false));
        tr.addEventListener("click", () => showTerritory(j));
      });
      placeLabels(true);  // no city under the legend as now drawn
    }
    function ensureLegend() {
      if (!legend) {
        legend = L.control({ position: "bottomleft" });
        legend.onAdd = () => {
          const div = L.DomUtil.create("div", "legend");
          div.dataset.testid = "legend";
          L.DomEvent.disableClickPropagation(div);
          L.DomEvent.disableScrollPropagation(div);
          return div;
        };
        legend.addTo(map);
      }
    }
    // Colour by attainment, signals, tier or potential: the classes with their counts,
    // then (attainment, signals) the territories, worst first.
    function drawClassLegend(res) {
      ensureLegend();
      const title = { attainment: "Pace to date", signals: "Signals", tier: "Account tier", potential: "Account potential" }[res.by];
      const classes = res.classes.map((c) => `<tr class="class"><td><span class="swatch" style="background:${c.color}"></span>${esc(c.label)}</td>` +
        `<td>${fmt.format(c.count)} ${esc(c.unit)}</td></tr>`).join("");
      let rows = "";
      if (res.territories.length) {
        const shown = res.territories.map((t, j) => [t, j]).filter(([t]) => t.id);
        const score = (t) => res.by === "attainment" ? (t.pace == null ? 1e9 : t.pace) : -t.signals;
        shown.sort((a, b) => score(a[0]) - score(b[0]) || a[0].name.localeCompare(b[0].name));
        rows = `<table class="by-territory"><thead><tr><th>Rep</th><th>${res.by === "attainment" ? "Pace" : "Signals"}</th></tr></thead><tbody>` +
          shown.map(([t, j]) => `<tr data-j="${j}" data-territory="${esc(t.id)}"><td><span class="swatch" style="background:${t.color}"></span>${esc(t.name)}</td>` +
            `<td title="${esc(t.worst ? t.worst.message : "")}">${res.by === "attainment" ? (t.pace == null ? "–" : (t.pace * 100).toFixed(0) + "%") : t.signals}</td></tr>`).join("") +
          "</tbody></table>";
      }
      legend.getContainer().innerHTML = `<div class="legend-head"><b>${esc(title)}</b> <button type="button" class="link" data-testid="legend-toggle">hide</button></div>` +
        `<table><tbody>${classes}</tbody></table><p class="legend-note">${esc(res.note || "")}</p>${rows}`;
    }
    function drawLegend(res) {
      ensureLegend();
      const first = res.balanced[0] || "potential";
      const rows = res.territories.map((t, j) => [t, j]).filter(([t]) => t.id)
        .sort((a, b) => a[0].name.localeCompare(b[0].name))
        .map(([t, j]) => {
          const d = t.deviation[first], off = Math.abs(d) > res.tolerance + 1e-9;
          return `<tr data-j="${j}" data-territory="${esc(t.id)}"><td><span class="swatch" style="background:${t.color}"></span>${esc(t.name)}</td>` +
            `<td>${money(t.potential)}</td><td>${fmt.format(t.workload)} h</td><td class="dev ${off ? "off" : "ok"}">${pct(d)}</td></tr>`;
        }).join("");
      legend.getContainer().innerHTML = `<div class="legend-head"><b>Territories</b> <button type="button" class="link" data-testid="legend-toggle">hide</button></div><table><thead><tr><th>Rep</th><th>Potential</th><th>Workload</th>` +
        `<th title="deviation of ${esc(first)} from the mean; tolerance ±${(res.tolerance * 100).toFixed(1)}%">Dev.</th></tr></thead><tbody>${rows}</tbody></table>`;
    }
    function highlightLegend(j, on) {
      if (!legend) return;
      const tr = legend.getContainer().querySelector(`tr[data-j="${j}"]`);
      if (tr) tr.classList.toggle("on", on);
    }
    function territoryStyle(j, on) {
      areas.eachLayer((l) => { if (l.feature.properties.j === j) { if (on) l.setStyle({ fillOpacity: 0.85 }); else areas.resetStyle(l); } });
    }
    function showTerritory(j) {
      const layers = [];
      areas.eachLayer((l) => { if (l.feature.properties.j === j) layers.push(l); });
      if (layers.length) map.fitBounds(L.featureGroup(layers).getBounds(), { padding: [30, 30], maxZoom: 9 });
    }

    // --- rep home bases ----------------------------------------------------------------
    const reps = L.layerGroup().addTo(map);
    fetchJSON(`${prefix}/api/reps.geojson?plan=${plan}`).then((gj) => {
      gj.features.forEach((f) => {
        const [lon, lat] = f.geometry.coordinates;
        L.marker([lat, lon], { icon: L.divIcon({ className: "rep-icon", html: `<span style="color:${f.properties.color}">★</span>`, iconSize: [18, 18] }) })
          .bindTooltip(`<b>${esc(f.properties.name)}</b><br>home base ${esc(f.properties.city || "")}`).addTo(reps);
      });
    }).catch((e) => console.warn("reps:", e.message));

    // --- accounts: clusters or points for the visible box and zoom ----------------------
    const accounts = L.layerGroup().addTo(map);
    let controller = null;
    function loadAccounts() {
      if (controller) controller.abort();
      controller = new AbortController();
      const b = map.getBounds(), z = Math.round(map.getZoom());
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(4)).join(",");
      const url = `${prefix}/api/accounts.geojson?plan=${plan}&zoom=${z}&bbox=${bbox}&color=${state.color}`;
      return fetchJSON(url, { signal: controller.signal }).then((gj) => {
        accounts.clearLayers();
        gj.features.forEach((f) => drawFeature(f));
        const status = document.getElementById("map-status");
        if (status && !mini) status.textContent = `${fmt.format(gj.total)} accounts in view` + (gj.clustered ? " (clustered; zoom in to pick single accounts)" : "");
        markReady("acc");
      }).catch((e) => { if (e.name !== "AbortError") console.warn(e); });
    }
    function drawFeature(f) {
      const p = f.properties, [lon, lat] = f.geometry.coordinates;
      if (p.kind === "cluster") {
        const r = Math.min(5 + 3.5 * Math.log10(p.count), 18);
        const m = L.circleMarker([lat, lon], { renderer: hit, radius: r, color: "#fff", weight: 1.2, fillColor: p.color, fillOpacity: 0.9 })
          .bindTooltip(`<b>${fmt.format(p.count)} accounts</b><br>potential ${money(p.potential)}<br>mostly ${esc(p.dominant)}<br><small>click to zoom in</small>`);
        m.on("click", (e) => { L.DomEvent.stop(e); map.setView([lat, lon], Math.min(map.getZoom() + 2, 14)); });
        m.addTo(accounts);
        return;
      }
      const sel = state.selected.has(p.id);
      const m = L.circleMarker([lat, lon], { renderer: hit, radius: sel ? 6 : 4.5, color: sel ? "#000" : "#fff", weight: sel ? 2.5 : 1,
        fillColor: p.color, fillOpacity: 0.95 })
        .bindTooltip(`<b>${esc(p.name)}</b> (${esc(p.id)})<br>${esc(p.territory_name)}${p.locked ? " <span class=\"lock\">locked</span>" : ""}<br>` +
          `potential ${money(p.potential)} · tier ${esc(p.tier)}<br>workload ${p.workload} h · pipeline ${money(p.pipeline)}`);
      m.feature = f;
      m.on("click", (e) => { L.DomEvent.stop(e); if (editable) toggle(p.id, p.name); else m.openTooltip(); });
      m.addTo(accounts);
    }

    // --- selection ---------------------------------------------------------------------
    function toggle(id, name, on) {
      const want = on === undefined ? !state.selected.has(id) : on;
      if (want) state.selected.set(id, name); else state.selected.delete(id);
      renderSelection();
      accounts.eachLayer((m) => {
        if (m.feature && m.feature.properties.id === id) {
          m.setStyle({ color: want ? "#000" : "#fff", weight: want ? 2.5 : 1 });
          m.setRadius(want ? 6 : 4.5);
        }
      });
    }
    function addSelection(res, what) {
      res.accounts.forEach(([id, name]) => state.selected.set(id, name));
      renderSelection();
      restyleSelected();
      setStatus(`Selected ${fmt.format(res.accounts.length)} account(s) ${what}` +
        (res.total > res.accounts.length ? ` (first ${fmt.format(res.accounts.length)} of ${fmt.format(res.total)})` : "") + ".");
    }
    function restyleSelected() {
      accounts.eachLayer((m) => {
        if (!m.feature) return;
        const on = state.selected.has(m.feature.properties.id);
        m.setStyle({ color: on ? "#000" : "#fff", weight: on ? 2.5 : 1 });
        m.setRadius(on ? 6 : 4.5);
      });
    }
    function selectCounty(p) {
      return fetchJSON(`${prefix}/api/selection?plan=${plan}&county=${p.fips}`)
        .then((res) => addSelection(res, `in ${p.name} county`))
        .catch((e) => setStatus("Selection failed: " + e.message));
    }
    // A rectangle or a lasso: both go to the server as one polygon of [lon, lat]
    // vertices; the server tests the accounts on the map's projection.
    // The shapes selected with stay outlined until the selection is emptied.
    const selectionShapes = L.layerGroup().addTo(map);
    function selectPolygon(latlngs, what) {
      const ring = latlngs.map((p) => `${p.lng.toFixed(5)},${p.lat.toFixed(5)}`).join(";");
      return fetchJSON(`${prefix}/api/selection?plan=${plan}&polygon=${encodeURIComponent(ring)}`)
        .then((res) => {
          L.polygon(latlngs, { pane: "lines", renderer: lineCanvas, interactive: false, color: "#0b57d0",
            weight: 2, opacity: 0.9, fillColor: "#0b57d0", fillOpacity: 0.07 }).addTo(selectionShapes);
          addSelection(res, what);
        })
        .catch((e) => setStatus("Selection failed: " + e.message));
    }
    function renderSelection() {
      const box = document.getElementById("selection");
      if (!box) return;
      box.innerHTML = "";
      let shown = 0;
      state.selected.forEach((name, id) => {
        if (shown++ >= 40) return;
        const chip = document.createElement("span");
        chip.className = "chip"; chip.dataset.id = id; chip.title = "click to remove";
        chip.textContent = `${name} ×`;
        chip.addEventListener("click", () => toggle(id, name, false));
        box.appendChild(chip);
      });
      if (state.selected.size > 40) {
        const more = document.createElement("span");
        more.className = "muted"; more.textContent = `and ${fmt.format(state.selected.size - 40)} more`;
        box.appendChild(more);
      }
      const count = document.getElementById("selection-count");
      if (count) count.textContent = fmt.format(state.selected.size);
      if (state.selected.size === 0) selectionShapes.clearLayers();
      const moveBtn = document.getElementById("move-btn"), clearBtn = document.getElementById("clear-btn");
      if (moveBtn) moveBtn.disabled = state.selected.size === 0;
      if (clearBtn) clearBtn.disabled = state.selected.size === 0;
      document.querySelectorAll("#account-results input[type=checkbox]").forEach((c) => { c.checked = state.selected.has(c.value); });
    }

    // Rectangle and lasso selection: "Select area" or "Lasso" arms the tool; drag on
    // the map (a rectangle from corner to corner, a lasso along the pointer's path).
    const toolButtons = { box: document.getElementById("select-area-btn"), lasso: document.getElementById("lasso-btn") };
    let shape = null, start = null, trace = null;
    function armSelect(mode) {
      state.selecting = mode || false;
      el.classList.toggle("selecting", !!mode);
      el.dataset.tool = mode || "";
      Object.entries(toolButtons).forEach(([m, b]) => { if (b) b.classList.toggle("on", m === mode); });
      if (mode) map.dragging.disable(); else map.dragging.enable();
    }
    function pointer(e) { return map.mouseEventToLatLng(e); }
    const drawStyle = { pane: "lines", renderer: lineCanvas, interactive: false,
      color: "#0b57d0", weight: 2.5, dashArray: "6 4", fillOpacity: 0.12 };
    el.addEventListener("mousedown", (e) => {
      if (!state.selecting || e.button !== 0) return;
      e.stopPropagation(); e.preventDefault();
      map.eachLayer((l) => { if (l.closeTooltip) l.closeTooltip(); }); // no tooltips while drawing
      start = pointer(e);
      if (state.selecting === "lasso") {
        trace = [start];
        shape = L.polygon(trace, drawStyle).addTo(map);
      } else {
        shape = L.rectangle(L.latLngBounds(start, start), drawStyle).addTo(map);
      }
    }, true);
    el.addEventListener("mousemove", (e) => {
      if (!shape || !start) return;
      e.stopPropagation(); // Leaflet does not hover (tooltips) under a shape being drawn
      const at = pointer(e);
      if (state.selecting !== "lasso") { shape.setBounds(L.latLngBounds(start, at)); return; }
      // a vertex every 4 screen pixels keeps the polygon short and the URL small
      const last = map.latLngToContainerPoint(trace[trace.length - 1]), now = map.latLngToContainerPoint(at);
      if (last.distanceTo(now) < 4) return;
      trace.push(at);
      shape.setLatLngs(trace);
    }, true);
    el.addEventListener("mouseup", (e) => {
      if (!shape || !start) return;
      e.stopPropagation();
      const mode = state.selecting;
      shape.remove(); shape = null;
      swallowClick = true; // the click that follows this mouseup is not a county click
      armSelect(false);
      if (mode === "lasso") {
        trace.push(pointer(e));
        const ring = trace; trace = null; start = null;
        if (ring.length < 3) return;
        selectPolygon(ring.length > 600 ? ring.filter((_, i) => i % Math.ceil(ring.length / 600) === 0) : ring, "in the lasso");
        return;
      }
      const b = L.latLngBounds(start, pointer(e));
      start = null;
      if (b.getNorthEast().equals(b.getSouthWest())) return;
      selectPolygon([b.getSouthWest(), b.getSouthEast(), b.getNorthEast(), b.getNorthWest()], "in the rectangle");
    }, true);
    let swallowClick = false;
    el.addEventListener("click", (e) => {
      if (swallowClick) { swallowClick = false; e.stopPropagation(); e.preventDefault(); }
    }, true);
    el.addEventListener("mousedown", () => { if (!state.selecting) swallowClick = false; }, true);
    if (editable) Object.entries(toolButtons).forEach(([mode, b]) => {
      if (b) b.addEventListener("click", () => armSelect(state.selecting === mode ? false : mode));
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && state.selecting) { if (shape) shape.remove(); shape = null; start = null; trace = null; armSelect(false); }
    });

    // --- moves, undo, redo -------------------------------------------------------------
    function setStatus(message) {
      const status = document.getElementById("move-status");
      if (status) status.textContent = message;
    }
    function refreshBalance() {
      const panel = document.getElementById("balance-panel");
      if (!panel) return Promise.resolve();
      return fetch(`${prefix}/fragments/balance?plan=${plan}`, { credentials: "same-origin" })
        .then((r) => r.text()).then((html) => { panel.innerHTML = html; });
    }
    function post(url, body) {
      return fetchJSON(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body || {}) });
    }
    function refreshHistory() {
      const undo = document.getElementById("undo-btn"), redo = document.getElementById("redo-btn");
      if (!undo || plan === "baseline") return Promise.resolve();
      return fetchJSON(`${prefix}/api/plans/${plan}/history`).then((h) => {
        undo.disabled = !h.can_undo; redo.disabled = !h.can_redo;
        undo.title = h.can_undo ? `undo the last move (${h.undo} left)` : "nothing to undo";
        redo.title = h.can_redo ? `redo (${h.redo} left)` : "nothing to redo";
      });
    }
    function busy(on) {
      ["move-btn", "undo-btn", "redo-btn"].forEach((id) => { const b = document.getElementById(id); if (b && on) b.disabled = true; });
    }
    function afterChange(message) {
      setStatus(message);
      // the balance first: it is what the planner watches
      // colours by attainment or signals follow the territories' indices: fetched again
      const colors = () => (state.color === "territory" ? Promise.resolve() :
        fetchJSON(`${prefix}/api/map-colors?plan=${plan}&by=${state.color}`).then((res) => { state.colors = res; }));
      return refreshBalance().then(() => Promise.all([colors().then(loadAreas), loadAccounts(), search(), refreshHistory()]))
        .then(() => { el.dataset.changed = String(Number(el.dataset.changed || 0) + 1); renderSelection(); });
    }

    map.on("moveend", () => { zoomDependent(); loadAccounts(); });
    map.on("zoomend", zoomDependent);
    loadAreas().catch((e) => { console.warn("territories:", e.message); markReady("areas"); });
    loadAccounts();
    zoomDependent();

    if (mini) return map;

    const colorBy = document.getElementById("color-by");
    // Colour by: the fills and legend come from the server (attainment and signals
    // from the goals package); the accounts are fetched again in the new colours.
    function recolor() {
      const want = colorBy.value;
      state.color = want;
      el.dataset.colored = "";
      return fetchJSON(`${prefix}/api/map-colors?plan=${plan}&by=${want}`).then((res) => {
        if (state.color !== want) return null;
        state.colors = want === "territory" ? null : res;
        areas.setStyle((f) => areaStyle(f.properties));
        renderLegend();
        return loadAccounts().then(() => { if (state.color === want) el.dataset.colored = want; });
      }).catch((e) => {
        const status = document.getElementById("map-status");
        if (status) status.textContent = `Cannot colour by ${want}: ${e.message}`;
        el.dataset.colored = "failed";
      });
    }
    if (colorBy) {
      colorBy.addEventListener("change", recolor);
      if (colorBy.value !== "territory") recolor(); // a browser restoring the form
    }

    // Account search table (another way to select accounts).
    const input = document.getElementById("account-search"), results = document.getElementById("account-results");
    let timer = null;
    function search() {
      if (!input) return Promise.resolve();
      const q = input.value.trim();
      return fetchJSON(`${prefix}/api/accounts?plan=${plan}&limit=50&q=${encodeURIComponent(q)}`).then((res) => {
        const rows = res.accounts.map((a) => `<tr data-id="${esc(a.id)}">` +
          (editable ? `<td><input type="checkbox" value="${esc(a.id)}" data-name="${esc(a.name)}" ${state.selected.has(a.id) ? "checked" : ""}></td>` : "") +
          `<td>${esc(a.name)}<br><small class="muted">${esc(a.id)} · ${esc(a.city || "")} ${esc(a.state || "")}</small>` +
          (a.reason ? `<br><small class="why" title="why this account is in this territory">why: ${esc(a.reason)}</small>` : "") + `</td>` +
          `<td class="terr">${esc(a.territory_name)}${a.locked ? " <span class=\"lock\">locked</span>" : ""}</td><td>${money(a.potential)}</td></tr>`).join("");
        results.innerHTML = `<p class="muted">${fmt.format(res.total)} matching</p><table>${rows}</table>`;
        results.querySelectorAll("input[type=checkbox]").forEach((c) =>
          c.addEventListener("change", () => toggle(c.value, c.dataset.name, c.checked)));
      });
    }
    if (input) {
      input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 250); });
      search();
    }

    if (editable) {
      refreshHistory();
      document.getElementById("move-btn").addEventListener("click", () => {
        const to = document.getElementById("move-to").value, lock = document.getElementById("move-lock").checked;
        const ids = Array.from(state.selected.keys());
        busy(true);
        post(`${prefix}/api/plans/${plan}/moves`, { account_ids: ids, to_territory: to, lock: lock })
          .then((res) => {
            state.selected.clear();
            if (String(res.plan_id) !== String(plan)) {
              // the plan shown was frozen (active, approved...): the move went into a new draft
              window.location.assign(`${prefix}/map?plan=${res.plan_id}&draft_of=${plan}&moved=${res.changed}`);
              return null;
            }
            return afterChange(`Moved ${res.changed} account(s).`);
          })
          .catch((e) => { setStatus("Move failed: " + e.message); renderSelection(); refreshHistory(); });
      });
      document.getElementById("undo-btn").addEventListener("click", () => {
        busy(true);
        post(`${prefix}/api/plans/${plan}/undo`).then((res) => afterChange(`Undid the last move (${res.restored} account(s)).`))
          .catch((e) => { setStatus("Undo failed: " + e.message); refreshHistory(); renderSelection(); });
      });
      document.getElementById("redo-btn").addEventListener("click", () => {
        busy(true);
        post(`${prefix}/api/plans/${plan}/redo`).then((res) => afterChange(`Redid the move (${res.restored} account(s)).`))
          .catch((e) => { setStatus("Redo failed: " + e.message); refreshHistory(); renderSelection(); });
      });
      document.getElementById("clear-btn").addEventListener("click", () => { state.selected.clear(); renderSelection(); restyleSelected(); });
      renderSelection();
    }
    return map;
  }

  document.querySelectorAll(".map[data-plan]").forEach(initMap);
})();
