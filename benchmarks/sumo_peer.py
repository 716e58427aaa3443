"""Run Eclipse SUMO's mesoscopic model on twin's trips: network, trip mapping, tripinfo.

Benchmark-only helper for ``benchmarks/traffic.py`` (the engine never imports SUMO). It uses
the binaries inside the ``eclipse-sumo`` wheel (``netconvert``, ``sumo``) and ``sumolib``;
an OSM network goes through pyosmium first because netconvert cannot read ``.osm.pbf``.

Trips run between junctions (``fromJunction``/``toJunction`` with ``--junction-taz``): SUMO
departs on any outgoing edge of the origin junction and arrives on any incoming edge of the
destination, which is how twin's node-to-node trips behave. A twin node maps to the SUMO
junction with its OSM id, else to the joined junction (``cluster_<id>_<id>...``) holding it,
else to the nearest junction (its distance is reported).
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: netconvert options for an OSM extract: passenger roads, joined junctions, geometry-only
#: nodes removed, isolated edges dropped (Monaco 2021-11: 783 edges, 454 junctions).
OSM_OPTIONS = (
    "--keep-edges.by-vclass",
    "passenger",
    "--junctions.join",
    "--geometry.remove",
    "--remove-edges.isolated",
    "--no-warnings",
)

_LAUNCHER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "wall = time.perf_counter() - t\n"
    "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(rc)\n"
)


def available() -> str | None:
    """SUMO's version string, or ``None`` when the ``eclipse-sumo`` wheel is not installed."""
    try:
        import sumo
        import sumolib  # noqa: F401
    except ImportError:
        return None
    out = subprocess.run(
        [str(Path(sumo.SUMO_HOME) / "bin" / "sumo"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return out.splitlines()[0].removeprefix("Eclipse SUMO sumo ") if out else "?"


def binary(name: str) -> str:
    """Path of a SUMO binary from the wheel (``netconvert``, ``sumo``)."""
    import sumo

    return str(Path(sumo.SUMO_HOME) / "bin" / name)


def osm_network(pbf: Path, folder: Path) -> Path:
    """Convert an ``.osm.pbf`` extract to SUMO's ``net.xml`` in ``folder`` (pyosmium, then
    netconvert with :data:`OSM_OPTIONS`); returns the network file."""
    import osmium

    osm = folder / "city.osm"
    with osmium.SimpleWriter(str(osm), overwrite=True) as writer:
        for obj in osmium.FileProcessor(str(pbf)):
            writer.add(obj)
    net = folder / "net.xml"
    subprocess.run(
        [binary("netconvert"), "--osm-files", str(osm), "-o", str(net), *OSM_OPTIONS],
        check=True,
        capture_output=True,
    )
    return net


@dataclass
class JunctionMap:
    """Where twin's nodes land in a SUMO network.

    Attributes
    ----------
    junction
        (N,) SUMO junction id of each twin node.
    how
        (N,) ``"id"`` (same OSM id), ``"cluster"`` (inside a joined junction) or ``"nearest"``.
    distance
        (N,) distance (m) from the twin node to the junction's centre.
    """

    junction: np.ndarray
    how: np.ndarray
    distance: np.ndarray

    def summary(self) -> str:
        """One line: how many nodes mapped each way and the worst distance."""
        counts = {k: int((self.how == k).sum()) for k in ("id", "cluster", "nearest")}
        near = self.distance[self.how == "nearest"]
        worst = f", nearest up to {near.max():.0f} m" if near.size else ""
        return (
            f"{counts['id']} by OSM id, {counts['cluster']} in joined junctions, "
            f"{counts['nearest']} to the nearest junction{worst}"
        )


def map_nodes(net_file: Path, node_ids, lon, lat) -> JunctionMap:
    """Map twin nodes (OSM ids with lon/lat in degrees) to junctions of ``net_file``.

    Only junctions with at least one incoming and one outgoing normal edge are candidates,
    so that every mapped node can start and end a trip.
    """
    import sumolib

    net = sumolib.net.readNet(str(net_file))
    usable = [
        j
        for j in net.getNodes()
        if j.getType() != "internal" and j.getIncoming() and j.getOutgoing()
    ]
    ids = [j.getID() for j in usable]
    xy = np.array([j.getCoord()[:2] for j in usable])
    by_id = {jid: jid for jid in ids}
    for jid in ids:
        if jid.startswith("cluster_"):
            for member in jid.removeprefix("cluster_").split("_"):
                by_id.setdefault(member, jid)
    pos = np.array([net.convertLonLat2XY(a, b) for a, b in zip(lon, lat, strict=True)])
    junction, how, distance = [], [], []
    index = {jid: k for k, jid in enumerate(ids)}
    for nid, p in zip(node_ids, pos, strict=True):
        jid = by_id.get(str(nid))
        if jid is None:
            k = int(np.argmin(((xy - p) ** 2).sum(axis=1)))
            jid, kind = ids[k], "nearest"
        else:
            kind = "id" if jid == str(nid) else "cluster"
        junction.append(jid)
        how.append(kind)
        distance.append(float(np.hypot(*(xy[index[jid]] - p))))
    return JunctionMap(np.array(junction), np.array(how), np.array(distance))


def write_trips(path: Path, origin, destination, depart) -> int:
    """Write junction-to-junction trips sorted by departure; returns how many were written
    (a trip whose two ends share a junction is skipped: SUMO has nothing to drive)."""
    order = np.argsort(depart, kind="stable")
    written = 0
    with path.open("w") as fh:
        fh.write("<routes>\n")
        for k in order:
            if origin[k] == destination[k]:
                continue
            fh.write(
                f'  <trip id="{k}" depart="{depart[k]:.2f}" '
                f'fromJunction="{origin[k]}" toJunction="{destination[k]}"/>\n'
            )
            written += 1
        fh.write("</routes>\n")
    return written


def run_meso(
    net_file: Path,
    trips_file: Path,
    end: float,
    *,
    junction_control: bool = True,
    reroute_period: float = 300.0,
) -> dict:
    """Run ``sumo --mesosim`` and summarise its tripinfo.

    Every vehicle carries a rerouting device (period ``reroute_period`` s); trips are routed
    at insertion between junction TAZs. Travel time counts from the *scheduled* departure
    (``duration + departDelay``), as twin's does.

    Returns
    -------
    dict
        ``wall_s`` (the sumo process: loading, routing, simulation, output), ``loaded``,
        ``completed``, ``mean_tt_s``, ``total_tt_h``, ``free_tt_s`` (mean of duration minus
        SUMO's time loss), ``mean_km`` (route length of arrived trips),
        ``teleports``, ``unfinished`` (inserted but not arrived by ``end``) and ``peak_mb``
        (the sumo process's own max RSS).
    """
    folder = trips_file.parent
    tripinfo, stats = folder / "tripinfo.xml", folder / "stats.xml"
    command = [
        binary("sumo"),
        "-n",
        str(net_file),
        "-r",
        str(trips_file),
        "--junction-taz",
        "--mesosim",
        "--meso-junction-control",
        str(junction_control).lower(),
        "--device.rerouting.probability",
        "1",
        "--device.rerouting.period",
        str(reroute_period),
        "--end",
        str(end),
        "--no-step-log",
        "--ignore-route-errors",
        "--no-warnings",
        "--tripinfo-output",
        str(tripinfo),
        "--tripinfo-output.write-unfinished",
        "--statistic-output",
        str(stats),
    ]
    # a small launcher times sumo and reads its own max RSS: a child forked straight from
    # this (large) process would inherit this process's high-water mark
    launched = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command], capture_output=True, text=True, check=False
    )
    if launched.returncode != 0:
        raise subprocess.CalledProcessError(
            launched.returncode, command, launched.stdout, launched.stderr
        )
    wall, peak_kb = launched.stdout.split()[-2:]
    wall = float(wall)
    tt, free, km, unfinished = [], [], [], 0
    for info in ET.parse(tripinfo).getroot().iter("tripinfo"):
        if float(info.get("arrival", -1)) < 0:
            unfinished += 1
            continue
        tt.append(float(info.get("duration")) + float(info.get("departDelay", 0.0)))
        free.append(float(info.get("duration")) - float(info.get("timeLoss")))
        km.append(float(info.get("routeLength")) / 1000.0)
    root = ET.parse(stats).getroot()
    teleports = root.find("teleports")
    vehicles = root.find("vehicles")
    return {
        "wall_s": wall,
        "loaded": int(vehicles.get("loaded")) if vehicles is not None else len(tt),
        "completed": len(tt),
        "mean_tt_s": float(np.mean(tt)) if tt else float("nan"),
        "total_tt_h": float(np.sum(tt)) / 3600.0,
        "free_tt_s": float(np.mean(free)) if free else float("nan"),
        "mean_km": float(np.mean(km)) if km else float("nan"),
        "teleports": int(teleports.get("total")) if teleports is not None else 0,
        "unfinished": unfinished,
        "peak_mb": float(peak_kb) / 1024,
    }
