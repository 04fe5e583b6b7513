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
  function poll(id) {
    fetch(`${prefix}/api/jobs/${id}`, { credentials: "same-origin" }).then((r) => r.json()).then((job) => {
      bar.value = job.progress;
      msg.textContent = `${job.status} · ${Math.round(job.progress * 100)}% · ${job.message}`;
      if (job.status === "done") {
        msg.innerHTML = `${job.message.replace(/[<>&"]/g, "")}. <a href="${prefix}/map?plan=${job.plan_id}" data-testid="job-result">open “${job.name.replace(/[<>&"]/g, "")}”</a>`;
        setTimeout(() => location.reload(), 1200);
      } else if (job.status === "failed") {
        msg.textContent = "Design failed: " + job.error;
        form.querySelector("button").disabled = false;
      } else {
        setTimeout(() => poll(id), 1000);
      }
    });
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
    form.querySelector("button").disabled = true;
    post(`${prefix}/api/designs`, body).then((job) => poll(job.id)).catch((e) => {
      msg.textContent = "Cannot start: " + e.message; form.querySelector("button").disabled = false;
    });
  });
  document.getElementById("save-owners").addEventListener("click", () => {
    post(`${prefix}/api/plans/from-owners`, { name: "Current owners" }).then(() => location.reload());
  });
  document.querySelectorAll("button.transition").forEach((b) => b.addEventListener("click", () => {
    post(`${prefix}/api/plans/${b.dataset.plan}/${b.dataset.action}`).then(() => location.reload())
      .catch((e) => { alert(`Cannot ${b.dataset.action}: ${e.message}`); });
  }));
})();
