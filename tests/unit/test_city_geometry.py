"""describe_point_problem: points off the map, and points that fit only with lon/lat swapped."""

import pytest

from twin.city.geometry import describe_point_problem, format_point

MONACO = (7.4064, 43.7232, 7.4400, 43.7518)  # west, south, east, north (degrees)


def test_inside_and_near_points_fit():
    assert describe_point_problem(MONACO, 7.42, 43.73) is None
    assert describe_point_problem(MONACO, 7.4400 + 1e-3, 43.73) is None  # ~80 m out


def test_swapped_point_says_so():
    text = describe_point_problem(MONACO, 43.73, 7.42)
    assert "swapped" in text
    assert "[7.42000, 43.73000]" in text


def test_far_point_gives_the_distance_and_extent():
    text = describe_point_problem(MONACO, 2.35, 48.86)  # Paris, about 680 km away
    assert "km outside the map" in text
    assert "swapped" not in text
    km = float(text.split(" is ")[1].split(" km")[0].replace(",", ""))
    assert 600 < km < 720
    assert "lon 7.4064 to 7.4400" in text


@pytest.mark.parametrize(("lon", "lat"), [(float("nan"), 43.7), (7.4, 95.0), ("x", 43.7)])
def test_invalid_points(lon, lat):
    assert describe_point_problem(MONACO, lon, lat) is not None


def test_projected_box_and_pack(monaco_pack):
    from pyproj import Transformer

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True)
    x0, y0 = to_utm.transform(MONACO[0], MONACO[1])
    x1, y1 = to_utm.transform(MONACO[2], MONACO[3])
    box = (x0, y0, x1, y1)
    assert describe_point_problem(box, 7.42, 43.73, crs="EPSG:32632") is None
    assert "swapped" in describe_point_problem(box, 43.73, 7.42, crs="EPSG:32632")
    assert describe_point_problem(monaco_pack, 7.42, 43.73) is None
    assert "swapped" in describe_point_problem(monaco_pack, 43.73, 7.42)
    assert format_point("EPSG:32632", x0, y0) == "[7.40640, 43.72320] (lon, lat)"
