"""Routing: territory rules, rules of engagement, lead matching, pools and why-traces.

The modules, in the order data flows:

* :mod:`~territorial.routing.rules` — the YAML rules file, parsed with line numbers;
* :mod:`~territorial.routing.conditions` — field tests, on one record or a numpy frame;
* :mod:`~territorial.routing.engine` — compiled rules: index, ranking, why-trace;
* :mod:`~territorial.routing.matching` — lead-to-account matching;
* :mod:`~territorial.routing.pools` — owners, round robin, capacity, absences;
* :mod:`~territorial.routing.decide` — a record to a decision (pure);
* :mod:`~territorial.routing.service` — the store-backed service (one transaction);
* :mod:`~territorial.routing.alerts` — outbox delivery with retries;
* :mod:`~territorial.routing.coverage`, :mod:`~territorial.routing.simulate`,
  :mod:`~territorial.routing.plans` — overlaps/gaps, what-if, plan export.

This package imports nothing from the store at import time (the store imports it).
"""

from territorial.routing.engine import CompiledRules, compile_rules
from territorial.routing.rules import RuleSet, load_rules, parse_rules

__all__ = ["CompiledRules", "RuleSet", "compile_rules", "load_rules", "parse_rules"]
