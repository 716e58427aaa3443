"""One collapse, one set of closed streets: the traffic, crowd and response set-ups in
twin/coupling all close links by the one rule of twin.coupling.hazards on the one link index
(twin.city.links), so cars, walkers and ambulances see the same closed roads.

The city is a 4 x 4 grid of residential streets (drivable and walkable, about 100 m apart)
written here as an .osm file, so no sample map is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin.city import load_city
from twin.coupling.crowd_setup import crowd_from_scenario
from twin.coupling.response_setup import build_response, closure_timeline
from twin.coupling.traffic_setup import traffic_from_scenario
from twin.response.network import CityNetwork
from twin.scenario.loader import load_plan, load_scenario

LON0, LAT0 = 7.420, 43.730
DLON, DLAT = 1.25e-3, 9.0e-4  # about 100 m each way
N = 4


def _lonlat(i: float, j: float) -> str:
    return f"[{LON0 + DLON * i:.6f}, {LAT0 + DLAT * j:.6f}]"


def _write_osm(path: Path) -> Path:
    """A 4 x 4 grid of residential streets and one house (OSM node ids 10 i + j + 1)."""
    grid = {(i, j): 10 * i + j + 1 for i in range(N) for j in range(N)}
    nodes = [(nid, LON0 + DLON * i, LAT0 + DLAT * j) for (i, j), nid in grid.items()]
    house = [(5000 + k, LON0 + DLON * (0.2 + dx), LAT0 + DLAT * (0.2 + dy))
             for k, (dx, dy) in enumerate(((0, 0), (0.4, 0), (0.4, 0.4), (0, 0.4)))]  # fmt: skip
    ways = [(1000 + i, [grid[i, j] for j in range(N)]) for i in range(N)]
    ways += [(1100 + i, [grid[j, i] for j in range(N)]) for i in range(N)]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    for n, lon, lat in sorted(nodes + house):
        lines.append(f'<node id="{n}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for w, refs in ways:
        inner = "".join(f'<nd ref="{r}"/>' for r in refs)
        lines.append(f'<way id="{w}" version="1">{inner}<tag k="highway" v="residential"/></way>')
    ring = "".join(f'<nd ref="{r}"/>' for r in [5000, 5001, 5002, 5003, 5000])
    lines.append(f'<way id="2000" version="1">{ring}<tag k="building" v="apartments"/>'
                 '<tag k="building:levels" v="4"/></way>')  # fmt: skip
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_one_collapse_closes_the_same_links_for_traffic_crowd_and_response(tmp_path):
    """A 20 m collapse at junction (2, 1) at 10 min: the traffic, crowd and response
    set-ups close the same 8 street links (the four streets meeting there, both ways, by
    their junctions' OSM ids) from 600 s on, and the response model's units find exactly
    those closed once the collapse has happened."""
    pack = load_city(_write_osm(tmp_path / "t.osm"), flat=True, use_cache=False)
    zone = ", ".join(_lonlat(i, j) for i, j in ((-0.5, -0.5), (0.8, -0.5), (0.8, 0.8), (-0.5, 0.8)))
    (tmp_path / "s.yaml").write_text(
        "version: 1\nname: c\ncity: {osm: t.osm, flat: true}\ntime: {duration: 1 h}\n"
        f"hazards:\n  - {{kind: ground_collapse, at: 10 min, location: {_lonlat(2, 1)}, "
        "radius: 20 m}\n"
        f"demand:\n  evacuation: {{zone: [{zone}], order_time: 0 min, car_share: 0.5, "
        "compliance: 1.0, curve: {kind: uniform, mean: 2 min}}\n",
        encoding="utf-8",
    )
    (tmp_path / "p.yaml").write_text(
        "version: 1\nkind: plan\nname: p\n"
        f"stations:\n  - {{name: s, location: {_lonlat(2, 2)}, units: {{ambulance: 1}}}}\n"
        f"shelters:\n  - {{name: ne, location: {_lonlat(3, 3)}, capacity: 500}}\n",
        encoding="utf-8",
    )
    sc, plan = load_scenario(tmp_path / "s.yaml"), load_plan(tmp_path / "p.yaml")

    traffic = traffic_from_scenario(sc, pack, plan=plan)
    ((t_at, t_links, _),) = traffic.closures
    road = traffic.model.net
    by_traffic = {
        (int(road.node_ids[a]), int(road.node_ids[b]))
        for a, b in zip(road.link_from[t_links], road.link_to[t_links], strict=True)
    }

    crowd = crowd_from_scenario(sc, pack, plan)
    ((c_at, c_mask, _),) = crowd.closures
    walk = crowd.model.net
    by_crowd = {
        (int(walk.node_ids[a]), int(walk.node_ids[b]))
        for a, b in zip(walk.tail[c_mask], walk.head[c_mask], strict=True)
    }

    net = CityNetwork.from_pack(pack)
    ((r_at, r_mask),) = closure_timeline(sc, plan, net)
    by_response = {(u, v) for (u, v, _), shut in zip(net.travel.edges, r_mask, strict=True) if shut}

    assert t_at == c_at == r_at == 600.0
    assert len(by_traffic) == 8
    assert by_traffic == by_crowd == by_response
    junction = 2 * 10 + 1 + 1  # OSM id of junction (2, 1)
    assert all(junction in pair for pair in by_traffic)

    model = build_response(sc, plan, pack, network=net)
    model.run(599.0)
    assert not model.travel.closed.any()
    model.run(601.0)
    np.testing.assert_array_equal(model.travel.closed, r_mask)
