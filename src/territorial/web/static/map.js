/* Territorial map: base layer from the vendored us-atlas TopoJSON, territory hulls,
   rep home bases and server-side account clusters. Vanilla JS over Leaflet. */
(function () {
  "use strict";
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const fmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const money = (v) => "$" + fmt.format(v || 0);
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const baseCache = {};

  function fetchJSON(url, options) {
    return fetch(url, Object.assign({ credentials: "same-origin" }, options || {})).then((r) => {
      if (!r.ok) return r.json().catch(() => ({})).then((e) => { throw new Error(e.message || r.statusText); });
      return r.json();
    });
  }
  function basemap(prefix, name) {
    if (!baseCache[name]) baseCache[name] = fetchJSON(prefix + "/basemap/" + name + ".json");
    return baseCache[name];
  }

  function initMap(el) {
    const prefix = el.dataset.prefix, plan = el.dataset.plan, mini = el.dataset.mini === "1";
    const editable = el.dataset.editable === "1";
    const map = L.map(el, { preferCanvas: true, zoomSnap: 1, attributionControl: false, minZoom: 3, maxZoom: 14 })
      .setView([39, -96], mini ? 3 : 4);
    const state = { color: "territory", selected: new Map(), seq: 0, ready: { base: false, terr: false, acc: false } };
    const markReady = (part) => {
      state.ready[part] = true;
      if (state.ready.base && state.ready.terr && state.ready.acc) el.dataset.ready = "1";
    };
    map.createPane("base").style.zIndex = 200;
    map.createPane("terr").style.zIndex = 300;

    // Base layer: states always, counties from zoom 6 (loaded on first need).
    const states = L.geoJSON(null, { pane: "base", interactive: false,
      style: { color: "#9aa5b1", weight: 1, fillColor: "#fbfbf8", fillOpacity: 1 } }).addTo(map);
    let counties = null;
    basemap(prefix, "states-10m").then((topo) => {
      states.addData(topojson.feature(topo, topo.objects.states));
      markReady("base");
    }).catch(() => markReady("base"));
    function toggleCounties() {
      if (map.getZoom() >= 6 && !counties) {
        counties = L.geoJSON(null, { pane: "base", interactive: false,
          style: { color: "#c9d0d8", weight: 0.5, fill: false } });
        basemap(prefix, "counties-10m").then((topo) => {
          counties.addData(topojson.mesh(topo, topo.objects.counties, (a, b) => a !== b && (a.id / 1000 | 0) === (b.id / 1000 | 0)));
        });
      }
      if (counties) {
        if (map.getZoom() >= 6) counties.addTo(map); else counties.remove();
      }
    }

    // Territories: counties coloured by their accounts' main territory (default), or
    // the hull of each territory's accounts. Key figures on hover.
    const terrTip = (t) => `<b>${esc(t.name)}</b><br>${fmt.format(t.accounts)} accounts<br>` +
      `potential ${money(t.potential)}<br>workload ${fmt.format(t.workload)} h<br>pipeline ${money(t.pipeline)}`;
    const territories = L.geoJSON(null, { pane: "terr",
      style: (f) => ({ color: f.properties.color, weight: f.properties.county ? 0.4 : 1.5, fillColor: f.properties.color,
        fillOpacity: f.properties.county ? 0.25 + 0.35 * f.properties.share : 0.16 }),
      onEachFeature: (f, layer) => {
        if (editable && f.properties.fips) layer.on("click", () => selectCounty(f.properties));
        layer.bindTooltip(() => f.properties.county
          ? `${terrTip(f.properties.territory)}<br><small>county ${esc(f.properties.county)}: ${fmt.format(f.properties.n)} accounts, ` +
            `${Math.round(f.properties.share * 100)}% in this territory</small>` +
            (editable ? "<br><small>click to select its accounts</small>" : "")
          : terrTip(f.properties), { sticky: true });
      },
    }).addTo(map);
    function selectCounty(p) {
      fetchJSON(`${prefix}/api/accounts?plan=${plan}&county=${p.fips}&limit=500`).then((res) => {
        res.accounts.forEach((a) => toggle(a.id, a.name, true));
        const status = document.getElementById("move-status");
        if (status) status.textContent = `Selected ${res.accounts.length} account(s) of ${p.county}` +
          (res.total > res.accounts.length ? ` (first 500 of ${res.total})` : "") + ".";
      });
    }
    let countyFeatures = null;
    function counties10m() {
      if (!countyFeatures) countyFeatures = basemap(prefix, "counties-10m").then((topo) => {
        const byId = {};
        topojson.feature(topo, topo.objects.counties).features.forEach((f) => { byId[f.id] = f; });
        return byId;
      });
      return countyFeatures;
    }
    function loadTerritories() {
      const shape = (document.getElementById("shape-by") || {}).value || "counties";
      if (shape === "hull") {
        return fetchJSON(`${prefix}/api/territories.geojson?plan=${plan}`).then((gj) => {
          territories.clearLayers(); territories.addData(gj); markReady("terr");
        });
      }
      return Promise.all([fetchJSON(`${prefix}/api/territory-counties?plan=${plan}`), counties10m()]).then(([res, byId]) => {
        const features = [];
        Object.entries(res.counties).forEach(([fips, [j, share, n]]) => {
          const base = byId[fips];
          if (!base) return;
          const t = res.territories[j];
          features.push({ type: "Feature", geometry: base.geometry,
            properties: { fips: fips, county: (base.properties && base.properties.name) || fips, territory: t, color: t.color, share: share, n: n } });
        });
        territories.clearLayers(); territories.addData({ type: "FeatureCollection", features: features });
        markReady("terr");
      });
    }

    const reps = L.layerGroup().addTo(map);
    fetchJSON(`${prefix}/api/reps.geojson?plan=${plan}`).then((gj) => {
      gj.features.forEach((f) => {
        const [lon, lat] = f.geometry.coordinates;
        L.marker([lat, lon], { icon: L.divIcon({ className: "rep-icon", html: `<span style="color:${f.properties.color}">★</span>`, iconSize: [18, 18] }) })
          .bindTooltip(`<b>${esc(f.properties.name)}</b><br>home base ${esc(f.properties.city || "")}`).addTo(reps);
      });
    });

    // Accounts: clusters or points, reloaded for the visible box and zoom.
    const accounts = L.layerGroup().addTo(map);
    let controller = null;
    function loadAccounts() {
      if (controller) controller.abort();
      controller = new AbortController();
      const b = map.getBounds(), z = map.getZoom();
      const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(4)).join(",");
      const url = `${prefix}/api/accounts.geojson?plan=${plan}&zoom=${z}&bbox=${bbox}&color=${state.color}`;
      return fetchJSON(url, { signal: controller.signal }).then((gj) => {
        accounts.clearLayers();
        gj.features.forEach((f) => drawFeature(f));
        const status = document.getElementById("map-status");
        if (status && !mini) status.textContent = `${fmt.format(gj.total)} accounts in view` + (gj.clustered ? " (clustered; zoom in to select)" : "");
        markReady("acc");
      }).catch((e) => { if (e.name !== "AbortError") console.warn(e); });
    }
    function drawFeature(f) {
      const p = f.properties, [lon, lat] = f.geometry.coordinates;
      if (p.kind === "cluster") {
        const r = Math.min(6 + 4 * Math.log10(p.count), 22);
        const m = L.circleMarker([lat, lon], { radius: r, color: "#fff", weight: 1, fillColor: p.color, fillOpacity: 0.85 })
          .bindTooltip(`<b>${fmt.format(p.count)} accounts</b><br>potential ${money(p.potential)}<br>mostly ${esc(p.dominant)}`);
        m.on("click", () => map.setView([lat, lon], Math.min(map.getZoom() + 2, 14)));
        m.addTo(accounts);
        return;
      }
      const sel = state.selected.has(p.id);
      const m = L.circleMarker([lat, lon], { radius: sel ? 7 : 5, color: sel ? "#000" : "#fff", weight: sel ? 2.5 : 1,
        fillColor: p.color, fillOpacity: 0.95 })
        .bindTooltip(`<b>${esc(p.name)}</b> (${esc(p.id)})<br>${esc(p.territory_name)}${p.locked ? " <span class=\"lock\">locked</span>" : ""}<br>` +
          `potential ${money(p.potential)} · tier ${esc(p.tier)}<br>workload ${p.workload} h · pipeline ${money(p.pipeline)}`);
      m.feature = f;
      if (editable) m.on("click", () => { toggle(p.id, p.name); });
      m.addTo(accounts);
    }

    function toggle(id, name, on) {
      const want = on === undefined ? !state.selected.has(id) : on;
      if (want) state.selected.set(id, name); else state.selected.delete(id);
      renderSelection();
      accounts.eachLayer((m) => {
        if (m.feature && m.feature.properties.id === id) {
          m.setStyle({ radius: want ? 7 : 5, color: want ? "#000" : "#fff", weight: want ? 2.5 : 1 });
          m.setRadius(want ? 7 : 5);
        }
      });
    }
    function renderSelection() {
      const box = document.getElementById("selection");
      if (!box) return;
      box.innerHTML = "";
      state.selected.forEach((name, id) => {
        const chip = document.createElement("span");
        chip.className = "chip"; chip.dataset.id = id; chip.title = "click to remove";
        chip.textContent = `${name} ×`;
        chip.addEventListener("click", () => toggle(id, name, false));
        box.appendChild(chip);
      });
      document.getElementById("move-btn").disabled = state.selected.size === 0;
      document.querySelectorAll("#account-results input[type=checkbox]").forEach((c) => { c.checked = state.selected.has(c.value); });
    }

    function refreshBalance() {
      const panel = document.getElementById("balance-panel");
      if (!panel) return Promise.resolve();
      return fetch(panel.dataset.url, { credentials: "same-origin" }).then((r) => r.text()).then((html) => { panel.innerHTML = html; });
    }
    function post(url, body) {
      return fetchJSON(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body || {}) });
    }
    function afterChange(message) {
      const status = document.getElementById("move-status");
      if (status) status.textContent = message;
      return Promise.all([refreshBalance(), loadTerritories(), loadAccounts(), search()]);
    }

    map.on("moveend", () => { toggleCounties(); loadAccounts(); });
    loadTerritories(); loadAccounts();

    if (mini) return map;

    const shapeBy = document.getElementById("shape-by");
    if (shapeBy) shapeBy.addEventListener("change", loadTerritories);
    const colorBy = document.getElementById("color-by");
    if (colorBy) colorBy.addEventListener("change", () => { state.color = colorBy.value; loadAccounts(); });

    // Account search table (the other way to select accounts).
    const input = document.getElementById("account-search"), results = document.getElementById("account-results");
    let timer = null;
    function search() {
      if (!input) return Promise.resolve();
      const q = input.value.trim();
      return fetchJSON(`${prefix}/api/accounts?plan=${plan}&limit=50&q=${encodeURIComponent(q)}`).then((res) => {
        const rows = res.accounts.map((a) => `<tr data-id="${esc(a.id)}">` +
          (editable ? `<td><input type="checkbox" value="${esc(a.id)}" data-name="${esc(a.name)}" ${state.selected.has(a.id) ? "checked" : ""}></td>` : "") +
          `<td>${esc(a.name)}<br><small class="muted">${esc(a.id)} · ${esc(a.city || "")} ${esc(a.state || "")}</small></td>` +
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
      document.getElementById("move-btn").addEventListener("click", () => {
        const to = document.getElementById("move-to").value, lock = document.getElementById("move-lock").checked;
        const ids = Array.from(state.selected.keys());
        post(`${prefix}/api/plans/${plan}/moves`, { account_ids: ids, to_territory: to, lock: lock })
          .then((res) => { state.selected.clear(); renderSelection(); return afterChange(`Moved ${res.changed} account(s).`); })
          .catch((e) => { document.getElementById("move-status").textContent = "Move failed: " + e.message; });
      });
      document.getElementById("undo-btn").addEventListener("click", () => {
        post(`${prefix}/api/plans/${plan}/undo`).then((res) => afterChange(`Undid the last move (${res.restored} account(s)).`))
          .catch((e) => { document.getElementById("move-status").textContent = "Nothing to undo: " + e.message; });
      });
      document.getElementById("clear-btn").addEventListener("click", () => { state.selected.clear(); renderSelection(); loadAccounts(); });
    }
    return map;
  }

  document.querySelectorAll(".map[data-plan]").forEach(initMap);
})();
