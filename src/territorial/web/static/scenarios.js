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
      msg.textContent = `${Math.round(job.progress * 100)}% · ${job.message}`;
      if (job.status === "done") {
        msg.innerHTML = `${job.message.replace(/[<>&"]/g, "")}. <a href="${prefix}/map?plan=${job.plan_id}" data-testid="job-result">open “${job.name.replace(/[<>&"]/g, "")}”</a>`;
        setTimeout(() => location.reload(), 1200);
      } else if (job.status === "failed") {
        msg.textContent = "Design failed: " + job.error;
        form.querySelector("button").disabled = false;
      } else {
        setTimeout(() => poll(id), 400);
      }
    });
  }
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const d = new FormData(form);
    const num = (k) => (d.get(k) === "" || d.get(k) === null ? null : Number(d.get(k)));
    const body = { name: d.get("name"), measures: d.getAll("measures"), tolerance_percent: num("tolerance_percent"),
      n_territories: num("n_territories"), max_moves: num("max_moves"), time_limit: num("time_limit") || 20,
      base_plan: num("base_plan") };
    box.hidden = false; bar.value = 0; msg.textContent = "starting…";
    form.querySelector("button").disabled = true;
    post(`${prefix}/api/designs`, body).then((job) => poll(job.id)).catch((e) => {
      msg.textContent = "Cannot start: " + e.message; form.querySelector("button").disabled = false;
    });
  });
  document.getElementById("save-owners").addEventListener("click", () => {
    post(`${prefix}/api/plans/from-owners`, { name: "Current owners" }).then(() => location.reload());
  });
  document.querySelectorAll("button.activate").forEach((b) => b.addEventListener("click", () => {
    post(`${prefix}/api/plans/${b.dataset.plan}/activate`).then(() => location.reload());
  }));
})();
