"""One collapse, one set of closed streets: the traffic, crowd and response set-ups in
twin/coupling all close links by the one rule of twin.coupling.hazards on the one link index
(twin.city.links), so cars, walkers and ambulances see the same closed roads.

The city is a 4 x 4 grid of residential streets (drivable and walkable, about 100 m apart)
written as an .osm file by tests/helpers/grid_city.py, so no sample map is needed.
"""

from __future__ import annotations

import numpy as np

from tests.helpers.grid_city import lonlat, one_house, write_grid_osm
from twin.city import load_city
from twin.coupling.crowd_setup import crowd_from_scenario
from twin.coupling.response_setup import build_response, closure_timeline
from twin.coupling.traffic_setup import traffic_from_scenario
from twin.response.network import CityNetwork
from twin.scenario.loader import load_plan, load_scenario

N = 4


def test_one_collapse_closes_the_same_links_for_traffic_crowd_and_response(tmp_path):
    """A 20 m collapse at junction (2, 1) at 10 min: the traffic, crowd and response
    set-ups close the same 8 street links (the four streets meeting there, both ways, by
    their junctions' OSM ids) from 600 s on, and the response model's units find exactly
    those closed once the collapse has happened."""
    pack = load_city(write_grid_osm(tmp_path / "t.osm", N, one_house()), flat=True, use_cache=False)
    zone = ", ".join(lonlat(i, j) for i, j in ((-0.5, -0.5), (0.8, -0.5), (0.8, 0.8), (-0.5, 0.8)))
    (tmp_path / "s.yaml").write_text(
        "version: 1\nname: c\ncity: {osm: t.osm, flat: true}\ntime: {duration: 1 h}\n"
        f"hazards:\n  - {{kind: ground_collapse, at: 10 min, location: {lonlat(2, 1)}, "
        "radius: 20 m}\n"
        f"demand:\n  evacuation: {{zone: [{zone}], order_time: 0 min, car_share: 0.5, "
        "compliance: 1.0, curve: {kind: uniform, mean: 2 min}}\n",
        encoding="utf-8",
    )
    (tmp_path / "p.yaml").write_text(
        "version: 1\nkind: plan\nname: p\n"
        f"stations:\n  - {{name: s, location: {lonlat(2, 2)}, units: {{ambulance: 1}}}}\n"
        f"shelters:\n  - {{name: ne, location: {lonlat(3, 3)}, capacity: 500}}\n",
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
