"""One geometry: the great circle, the WGS-84 geodesic, unit vectors and the us-atlas loader."""

from __future__ import annotations

import math
import pathlib
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territorial import geometry as geo

JFK = (40.0 + 38 / 60, -(73.0 + 47 / 60))  # Ed Williams' Aviation Formulary example
LAX = (33.0 + 57 / 60, -(118.0 + 24 / 60))


def dms(d: float, m: float, s: float) -> float:
    sign = -1.0 if d < 0 else 1.0
    return sign * (abs(d) + m / 60 + s / 3600)


def test_one_earth_radius_in_both_units() -> None:
    assert geo.EARTH_RADIUS_KM == 6371.0088
    assert abs(geo.EARTH_RADIUS_MI - 3958.7613) < 1e-4


def test_jfk_lax_great_circle_matches_the_formulary() -> None:
    # the Formulary gives 0.623585 radians (2144 nautical miles) for this pair
    angle = float(geo.central_angle(*JFK, *LAX))
    assert angle == pytest.approx(0.623585, abs=2e-6)
    assert float(geo.great_circle_miles(*JFK, *LAX)) == pytest.approx(
        0.623585 * geo.EARTH_RADIUS_MI, abs=0.01
    )
    assert float(geo.great_circle_km(*JFK, *LAX)) == pytest.approx(
        float(geo.great_circle_miles(*JFK, *LAX)) * geo.KM_PER_MILE
    )


@pytest.mark.parametrize(
    ("p", "q", "metres"),
    [
        # Geoscience Australia's worked example: Flinders Peak to Buninyong (GRS80 = WGS-84
        # to well under a millimetre at this range)
        (
            (dms(-37, 57, 3.72030), dms(144, 25, 29.52440)),
            (dms(-37, 39, 10.15610), dms(143, 55, 35.38390)),
            54972.271,
        ),
        ((0.0, 0.0), (0.0, 1.0), 111319.491),  # one degree of longitude at the equator
        ((0.0, 0.0), (1.0, 0.0), 110574.389),  # one degree of latitude from the equator
        ((0.0, 0.0), (0.5, 179.7), 19944127.421),  # nearly antipodal: Vincenty fails here
    ],
)
def test_geodesic_known_distances(p, q, metres) -> None:
    miles = float(geo.geodesic_miles(p[0], p[1], q[0], q[1]))
    assert miles * 1609.344 == pytest.approx(metres, abs=0.002 if metres < 1e6 else 0.5)


def test_geodesic_and_great_circle_agree_within_the_flattening() -> None:
    geodesic = float(geo.geodesic_miles(*JFK, *LAX))
    sphere = float(geo.great_circle_miles(*JFK, *LAX))
    assert abs(geodesic - sphere) / geodesic < 0.005  # the ellipsoid's flattening is 0.34%


def test_geodesic_matrix_is_symmetric_with_zero_diagonal() -> None:
    pts = np.array([JFK, LAX, (35.47, -97.52)])
    d = geo.geodesic_matrix(pts)
    assert d.shape == (3, 3)
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    assert d[0, 1] == pytest.approx(float(geo.geodesic_miles(*JFK, *LAX)), rel=1e-12)


coordinates = st.tuples(
    st.floats(-89.9, 89.9, allow_nan=False), st.floats(-180.0, 180.0, allow_nan=False)
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(coordinates, coordinates), min_size=1, max_size=20))
def test_vectorised_agrees_with_scalar_and_with_the_chord(pairs) -> None:
    a = np.array([p for p, _ in pairs])
    b = np.array([q for _, q in pairs])
    vector = geo.great_circle_miles(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    scalar = [float(geo.great_circle_miles(p[0], p[1], q[0], q[1])) for p, q in pairs]
    np.testing.assert_allclose(vector, scalar, rtol=0, atol=1e-9)
    # the law of cosines is the same sphere (less precise for tiny distances)
    cosines = [
        geo.EARTH_RADIUS_MI
        * math.acos(
            max(
                -1.0,
                min(
                    1.0,
                    math.sin(math.radians(p[0])) * math.sin(math.radians(q[0]))
                    + math.cos(math.radians(p[0]))
                    * math.cos(math.radians(q[0]))
                    * math.cos(math.radians(q[1] - p[1])),
                ),
            )
        )
        for p, q in pairs
    ]
    np.testing.assert_allclose(vector, cosines, atol=0.05)
    chord = np.linalg.norm(geo.to_unit_sphere(a) - geo.to_unit_sphere(b), axis=1)
    np.testing.assert_allclose(geo.chord_to_miles(chord), vector, atol=1e-6)
    back = geo.from_unit_sphere(geo.to_unit_sphere(a))
    np.testing.assert_allclose(back[:, 0], a[:, 0], atol=1e-9)


def test_great_circle_broadcasts_one_point_against_many() -> None:
    lats = np.array([JFK[0], LAX[0], JFK[0]])
    lons = np.array([JFK[1], LAX[1], JFK[1]])
    d = geo.great_circle_miles(lats, lons, JFK[0], JFK[1])
    assert d.shape == (3,)
    assert d[0] == 0.0 and d[2] == 0.0
    assert d[1] == pytest.approx(float(geo.great_circle_miles(*LAX, *JFK)))


def test_us_atlas_loader_decodes_counties() -> None:
    fips, shapes = geo.county_shapes()
    assert len(fips) == len(shapes) > 3000
    assert fips == sorted(fips)
    oklahoma_county = shapes[fips.index("40109")]
    assert oklahoma_county.is_valid
    # Oklahoma County is 718 sq mi; a degree-square there is about 3,900 sq mi
    assert 0.15 < oklahoma_county.area < 0.22
    assert oklahoma_county.contains(__import__("shapely").Point(-97.52, 35.47))  # OKC
    assert geo.county_geometries()["40109"]["properties"]["name"] == "Oklahoma"


SOURCES = pathlib.Path(__file__).resolve().parents[1] / "src" / "territorial"


def test_no_second_earth_radius_or_haversine_in_the_library() -> None:
    """Every great circle goes through territorial.geometry (one formula, one radius)."""
    offenders = []
    for path in SOURCES.rglob("*.py"):
        if path.name == "geometry.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\b(3958\.\d|6371\.\d|6378137)", text) or re.search(
            r"arcsin\(np\.sqrt|asin\(math\.sqrt", text
        ):
            offenders.append(str(path.relative_to(SOURCES)))
    assert offenders == []
