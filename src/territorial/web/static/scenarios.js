/* Scenarios page: run a design in the background and poll its progress. */
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const prefix = "/workspace";
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body || {}) })
      .then((r) => r.json().then((j) => { if (!r.ok) throw new Error(j.message || r.statusText); return j; }));
  }
  const form = document.getElementById("design-form");
  const box = document.getElementById("job"), bar = document.getElementById("job-progress"), msg = document.getElementById("job-message");
  const runBtn = form.querySelector("button[type=submit]");
  const clean = (s) => String(s == null ? "" : s).replace(/[<>&"]/g, "");
  function running(on) {
    runBtn.disabled = on;
    runBtn.textContent = on ? "Running…" : "Run design";
  }
  /* The scenario list and the "start from" choices, fetched again from the page (the
     server renders them): the new plan shows without a reload, the message stays. */
  function refreshList() {
    return fetch(`${prefix}/scenarios`, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((r) => { if (!r.ok) throw new Error(r.statusText); return r.text(); })
      .then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        [["[data-testid=scenario-list] tbody", "innerHTML"], ["[data-testid=base-plan]", "innerHTML"]].forEach(([sel, prop]) => {
          const mine = document.querySelector(sel), theirs = fresh.querySelector(sel);
          if (mine && theirs) {
            const keep = mine.tagName === "SELECT" ? mine.value : null;
            mine[prop] = theirs[prop];
            if (keep !== null) mine.value = keep;
          }
        });
        const name = form.querySelector("input[name=name]"), next = fresh.querySelector("#design-form input[name=name]");
        if (name && next) name.value = next.value;
        bindTransitions();
      });
  }
  function poll(id) {
    fetch(`${prefix}/api/jobs/${id}`, { credentials: "same-origin" })
      .then((r) => r.json().then((j) => { if (!r.ok) throw new Error(j.message || r.statusText); return j; }))
      .then((job) => {
        bar.value = job.progress;
        msg.textContent = `${job.status} · ${Math.round(job.progress * 100)}% · ${job.message}`;
        if (job.status === "done") {
          msg.innerHTML = `${clean(job.message)}. <a href="${prefix}/map?plan=${job.plan_id}" data-testid="job-result">open “${clean(job.name)}”</a>`;
          refreshList().catch((e) => { msg.append(` (the list did not refresh: ${e.message}; reload the page)`); })
            .finally(() => running(false));
        } else if (job.status === "failed" || job.status === "cancelled") {
          msg.textContent = `Design ${job.status}: ` + (job.error || job.message);
          running(false);
        } else {
          setTimeout(() => poll(id), 1000);
        }
      })
      .catch((e) => { msg.textContent = "Lost the job's progress: " + e.message; running(false); });
  }
  /* The form's fields are StoreDesignOptions' fields (see services.design_form). */
  function options() {
    const out = { balance: {} };
    form.querySelectorAll('input[name="balance"]:checked').forEach((box) => {
      const pct = form.querySelector(`[name="tolerance-${box.value}"]`).value;
      out.balance[box.value] = Number(pct) / 100;
    });
    form.querySelectorAll("[data-kind]").forEach((el) => {
      const kind = el.dataset.kind;
      if (kind === "bool") { out[el.name] = el.checked; return; }
      if (el.value === "") return;
      if (kind === "number") out[el.name] = Number(el.value);
      else if (kind === "plan") out[el.name] = el.value === "active" ? "active" : Number(el.value);
      else out[el.name] = el.value;
    });
    return out;
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { name: new FormData(form).get("name"), options: options() };
    box.hidden = false; bar.value = 0; msg.textContent = "queued…";
    running(true);
    post(`${prefix}/api/designs`, body).then((job) => poll(job.id)).catch((e) => {
      msg.textContent = "Cannot start: " + e.message; running(false);
    });
  });
  const saveBtn = document.getElementById("save-owners");
  saveBtn.addEventListener("click", () => {
    saveBtn.disabled = true;
    post(`${prefix}/api/plans/from-owners`, { name: "Current owners" })
      .then(() => { box.hidden = false; bar.value = 1; msg.textContent = "Saved the CRM owners as a scenario."; return refreshList(); })
      .catch((e) => { box.hidden = false; msg.textContent = "Cannot save: " + e.message; })
      .finally(() => { saveBtn.disabled = false; });
  });
  // submit / approve / activate in the list: the row is drawn again with its new status
  function bindTransitions() {
    document.querySelectorAll("button.transition").forEach((b) => b.addEventListener("click", () => {
      b.disabled = true;
      post(`${prefix}/api/plans/${b.dataset.plan}/${b.dataset.action}`)
        .then(() => { box.hidden = false; msg.textContent = `Plan ${b.dataset.plan}: ${b.dataset.action} done.`; return refreshList(); })
        .catch((e) => { box.hidden = false; msg.textContent = `Cannot ${b.dataset.action} plan ${b.dataset.plan}: ${e.message}`; b.disabled = false; });
    }));
  }
  bindTransitions();
})();
