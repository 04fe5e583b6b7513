"""Vendored geographic data (read with ``importlib.resources``).

``us-atlas/``: ``counties-10m.json`` and ``states-10m.json`` from the npm package
us-atlas 3.0.1 (Mike Bostock, ISC license, see ``us-atlas/LICENSE``): U.S. Census
Bureau cartographic boundaries as TopoJSON, feature ids = FIPS codes. Used for
county adjacency (:mod:`territorial.design.geography`) and the web map base layer.
"""
