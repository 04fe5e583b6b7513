"""The territory model: versions of the plan, their lifecycle, activation, ownership,
CRM exports and the job queue that runs long work outside the web server.

* :mod:`~territorial.planning.ownership` — who owns each account (the one answer);
* :mod:`~territorial.planning.lifecycle` — draft → submitted → approved → scheduled →
  active → superseded/archived, approvals, copies, diffs;
* :mod:`~territorial.planning.activation` — owners, routing rules, holdovers and alerts
  in one transaction;
* :mod:`~territorial.planning.exports` — Salesforce, HubSpot and CSV write-back files;
* :mod:`~territorial.planning.jobs` — jobs in the store, run by ``territorial worker``.
"""
