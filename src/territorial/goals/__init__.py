"""Goals, quotas and performance: fair targets per territory and how each is doing.

* :mod:`territorial.goals.periods`: fiscal years, quarters, months, ISO weeks.
* :mod:`territorial.goals.quotas`: a company target split into territory quotas.
* :mod:`territorial.goals.performance`: bookings, win rate, pipeline, attainment tables.
* :mod:`territorial.goals.smart`: SMART goals per rep or territory.
* :mod:`territorial.goals.signals`: territories drifting out of band.
"""
