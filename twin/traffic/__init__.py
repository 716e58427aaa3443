"""Vehicle-resolved mesoscopic traffic: link transmission model with spillback, rerouting
and emergency priority, on a CityPack road graph or a CSV network.

>>> from twin.traffic import RoadNetwork, TrafficModel  # doctest: +SKIP
>>> net = RoadNetwork.from_graph(pack.largest_component().drive)  # doctest: +SKIP
"""

from twin.traffic.demand import (
    Trips,
    evacuation_trips,
    flow_demand_csv,
    od_matrix_trips,
    od_slice_trips,
    random_trips,
    trips_csv,
)
from twin.traffic.model import TrafficModel
from twin.traffic.network import RoadNetwork, corridor_network, grid_network
from twin.traffic.outputs import LinkSeries, TripRecords, write_outputs

__all__ = [
    "LinkSeries",
    "RoadNetwork",
    "TrafficModel",
    "TripRecords",
    "Trips",
    "corridor_network",
    "evacuation_trips",
    "flow_demand_csv",
    "grid_network",
    "od_matrix_trips",
    "od_slice_trips",
    "random_trips",
    "trips_csv",
    "write_outputs",
]
