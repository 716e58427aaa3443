"""A synthetic river valley town: the input files of a city pack (OSM XML + ESRI ASCII DEM).

The sample maps have no river with levees (Monaco is steep and coastal, Helsinki's extract
has no terrain), so the river-levee scenario (``scenarios/valley_levee.yaml``) runs on a
generated valley. The generator writes what a user would bring (an ``.osm`` file and a DEM
with its ``.prj``); :func:`twin.city.load.load_city` reads them like any other city, through
the map catalogue (city ``valley``, files ``valley/valley.osm`` and ``valley/valley.asc``
on the maps path, checked by SHA-256). It is deterministic: the same bytes every time (the
catalogue's checksums say so).

The valley (local metres east ``x`` and north ``y`` of its south-west corner, which is
UTM zone 32N easting 500,000 m, northing 4,983,000 m: 9.0000 E, 45.0005 N; WGS 84). The
ground depends on ``x`` only: the valley runs north-south, level along its 1.4 km (the
river model holds one stage along a reach, so no along-valley slope is modelled).

============  ===========================================================================
x (m)         ground (m above the datum)
============  ===========================================================================
0 - 270       west valley side, rising 8 % away from the river: 20.0 m at 270, 41.6 m at 0
270 - 310     river channel, 40 m wide (centreline x = 290), flat bed at 16.0 m, 4 m deep
310 - 320     east bank, 20.0 m
320 - 360     levee: crest 23.0 m (3 m above the bank) from 329 to 351 (centreline 340),
              sides 1:3
360 - 380     landside toe ditch, bottom 18.5 m from 362 to 378 (it holds what an
              overtopping levee spills before it breaches: about 30,000 m3)
380 - 1200    floodplain rising 0.2 % away from the river: 20.0 m at 380, 21.64 m at 1200
1200 - 1700   east valley side, rising 5 %: 46.64 m at 1700
============  ===========================================================================

The town stands on the floodplain, 2-3 m below the levee crest: a street grid 100 m apart
from x = 420 to 1120 and y = 400 to 1000 (Valley Road along y = 700 is the main street),
four houses per block (20 x 15 m, two storeys), a hospital, a fire station, a school (a
candidate shelter) and, up the east side at x = 1330, y = 700 (28.1 m), an assembly point
reached by Hill Road; a footpath runs along the levee crest (y = 210 to 1190), joined
to the town by Levee Lane. The DEM covers x 0-1700, y 0-1400 at 5 m; a pack adds a 200 m
margin around its streets and buildings (the levee path reaches x = 340), which keeps
the channel and the levee inside its terrain grid.

OpenStreetMap ids are small positive numbers; the data are made up and free of any
licence (CC0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twin.atomic import write_bytes

#: Names of the synthetic cities this module generates.
GENERATORS: tuple[str, ...] = ("valley",)

#: UTM zone 32N (WGS 84) in ESRI's WKT, for the DEM's .prj (a constant: same bytes always).
UTM32N_ESRI_WKT = (
    'PROJCS["WGS_1984_UTM_Zone_32N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",'
    'SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


@dataclass(frozen=True)
class Valley:
    """Dimensions of the synthetic valley (metres; see the module docstring)."""

    easting: float = 500_000.0
    """UTM 32N easting of the south-west corner (m)."""
    northing: float = 4_983_000.0
    """UTM 32N northing of the south-west corner (m)."""
    width: float = 1700.0
    """East-west extent of the DEM (m)."""
    length: float = 1400.0
    """North-south extent of the DEM (m)."""
    cell: float = 5.0
    """DEM cell size (m)."""
    river_x: float = 290.0
    """Channel centreline (m east)."""
    channel_width: float = 40.0
    """Channel width (m)."""
    bank: float = 20.0
    """Ground at both banks and at the levee's toes (m)."""
    bed: float = 16.0
    """Channel bed (m)."""
    levee_x: float = 340.0
    """Levee centreline (m east)."""
    levee_crest: float = 23.0
    """Levee crest elevation (m)."""
    levee_top: float = 22.0
    """Width of the levee's flat crest (m)."""
    levee_side: float = 3.0
    """Horizontal run per metre of rise of the levee's sides."""
    ditch_depth: float = 1.5
    """Depth of the landside toe ditch below the bank (m)."""
    ditch_width: float = 20.0
    """Width of the toe ditch at the top (m); its sides are 2 m wide."""
    floodplain_slope: float = 0.002
    """Rise of the floodplain away from the river (m/m)."""
    west_slope: float = 0.08
    """Rise of the west valley side (m/m)."""
    hill_x: float = 1200.0
    """Where the east valley side begins (m east)."""
    hill_slope: float = 0.05
    """Rise of the east valley side (m/m)."""

    @property
    def levee_toes(self) -> tuple[float, float]:
        """x of the levee's river-side and landside toes (m)."""
        half = self.levee_top / 2 + self.levee_side * (self.levee_crest - self.bank)
        return self.levee_x - half, self.levee_x + half

    def ground(self, x: np.ndarray) -> np.ndarray:
        """Ground elevation (m) at ``x`` metres east of the west edge (any shape)."""
        x = np.asarray(x, np.float64)
        west_bank = self.river_x - self.channel_width / 2
        east_bank = self.river_x + self.channel_width / 2
        _, land_toe = self.levee_toes
        ditch_end = land_toe + self.ditch_width
        floodplain = self.bank + self.floodplain_slope * np.maximum(x - ditch_end, 0.0)
        hill = self.ground_at_hill + self.hill_slope * (x - self.hill_x)
        z = np.where(x >= self.hill_x, hill, floodplain)
        # The ditch: 2 m sides down to a flat bottom.
        side = np.minimum(np.minimum(x - land_toe, ditch_end - x) / 2.0, 1.0)
        z = np.where((x > land_toe) & (x < ditch_end), self.bank - self.ditch_depth * side, z)
        # The levee: a trapezoid standing on the bank between its toes.
        half = land_toe - self.levee_x
        rise = np.clip((half - np.abs(x - self.levee_x)) / self.levee_side, 0.0, None)
        levee = self.bank + np.minimum(rise, self.levee_crest - self.bank)
        z = np.where(x <= land_toe, levee, z)
        z = np.where((x > west_bank) & (x < east_bank), self.bed, z)
        return np.where(x <= west_bank, self.bank + self.west_slope * (west_bank - x), z)

    @property
    def ground_at_hill(self) -> float:
        """Floodplain elevation where the east valley side begins (m)."""
        return self.bank + self.floodplain_slope * (
            self.hill_x - self.levee_toes[1] - self.ditch_width
        )

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """WGS 84 (lon, lat) in degrees of local points (m east, m north of the corner)."""
        from pyproj import Transformer

        to_ll = Transformer.from_crs("EPSG:32632", "EPSG:4326", always_xy=True)
        lon, lat = to_ll.transform(
            self.easting + np.asarray(x, np.float64), self.northing + np.asarray(y, np.float64)
        )
        return np.round(lon, 7), np.round(lat, 7)


VALLEY = Valley()

# The town (local metres): street lines, the hill road and the facilities.
STREET_X = tuple(float(x) for x in range(420, 1121, 100))
STREET_Y = tuple(float(y) for y in range(400, 1001, 100))
MAIN_Y = 700.0
#: South and north ends of the footpath on the levee crest (m north).
LEVEE_PATH_Y = (210.0, 1190.0)
ASSEMBLY = (1330.0, 700.0)
HOUSE = (20.0, 15.0)
#: Blocks (column, row counted from the south-west block) holding a facility instead of houses.
FACILITY_BLOCKS = {
    (4, 3): ("Valley Hospital", {"amenity": "hospital", "building": "hospital",
                                  "building:levels": "3", "beds": "80"}),
    (1, 2): ("Valley Fire Station", {"amenity": "fire_station", "building": "fire_station",
                                      "building:levels": "2"}),
    (5, 4): ("Riverside School", {"amenity": "school", "building": "school",
                                   "building:levels": "2"}),
}  # fmt: skip


def dem_text(valley: Valley = VALLEY) -> str:
    """The valley as an ESRI ASCII grid (rows north to south, values in cm steps)."""
    ncols, nrows = round(valley.width / valley.cell), round(valley.length / valley.cell)
    x = (np.arange(ncols) + 0.5) * valley.cell
    row = " ".join(f"{v:.2f}" for v in valley.ground(x))
    header = (
        f"ncols {ncols}\nnrows {nrows}\nxllcorner {valley.easting:.1f}\n"
        f"yllcorner {valley.northing:.1f}\ncellsize {valley.cell:.1f}\nNODATA_value -9999\n"
    )
    return header + "".join(row + "\n" for _ in range(nrows))


class _OsmWriter:
    """Collects nodes and ways with sequential ids and writes OSM XML 0.6."""

    def __init__(self, valley: Valley) -> None:
        self.valley = valley
        self.nodes: list[tuple[int, float, float, dict[str, str]]] = []
        self.ways: list[tuple[int, list[int], dict[str, str]]] = []
        self._node_at: dict[tuple[float, float], int] = {}

    def node(self, x: float, y: float, tags: dict[str, str] | None = None) -> int:
        key = (x, y)
        if tags is None and key in self._node_at:
            return self._node_at[key]
        node_id = len(self.nodes) + 1
        self.nodes.append((node_id, x, y, tags or {}))
        if tags is None:
            self._node_at[key] = node_id
        return node_id

    def way(self, points: list[tuple[float, float]], tags: dict[str, str]) -> int:
        refs = [self.node(x, y) for x, y in points]
        way_id = 1000 + len(self.ways) + 1
        self.ways.append((way_id, refs, tags))
        return way_id

    def area(self, x: float, y: float, w: float, h: float, tags: dict[str, str]) -> int:
        """A closed rectangular way with south-west corner (x, y)."""
        corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        refs = [self.node(cx, cy) for cx, cy in corners]
        way_id = 1000 + len(self.ways) + 1
        self.ways.append((way_id, [*refs, refs[0]], tags))
        return way_id

    def text(self) -> str:
        xs = np.array([n[1] for n in self.nodes])
        ys = np.array([n[2] for n in self.nodes])
        lon, lat = self.valley.lonlat(xs, ys)
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<osm version="0.6" generator="twin.city.synthetic">',
                 f'  <bounds minlat="{lat.min():.7f}" minlon="{lon.min():.7f}" '
                 f'maxlat="{lat.max():.7f}" maxlon="{lon.max():.7f}"/>']  # fmt: skip
        for (node_id, _, _, tags), lo, la in zip(self.nodes, lon, lat, strict=True):
            if tags:
                lines.append(f'  <node id="{node_id}" lat="{la:.7f}" lon="{lo:.7f}">')
                lines += [_tag(k, v) for k, v in tags.items()]
                lines.append("  </node>")
            else:
                lines.append(f'  <node id="{node_id}" lat="{la:.7f}" lon="{lo:.7f}"/>')
        for way_id, refs, tags in self.ways:
            lines.append(f'  <way id="{way_id}">')
            lines += [f'    <nd ref="{ref}"/>' for ref in refs]
            lines += [_tag(k, v) for k, v in tags.items()]
            lines.append("  </way>")
        lines.append("</osm>")
        return "\n".join(lines) + "\n"


def _tag(key: str, value: str) -> str:
    from xml.sax.saxutils import quoteattr

    return f"    <tag k={quoteattr(key)} v={quoteattr(value)}/>"


def osm_text(valley: Valley = VALLEY) -> str:
    """The town as OpenStreetMap XML: streets, houses, facilities, the assembly point."""
    osm = _OsmWriter(valley)
    for i, x in enumerate(STREET_X):  # north-south streets, one way per block edge
        pts = [(x, y) for y in STREET_Y]
        osm.way(pts, {"highway": "residential", "name": f"{_ORDINAL[i]} Street",
                      "maxspeed": "30"})  # fmt: skip
    for j, y in enumerate(STREET_Y):
        pts = [(x, y) for x in STREET_X]
        if y == MAIN_Y:
            osm.way(pts, {"highway": "tertiary", "name": "Valley Road", "maxspeed": "50"})
        else:
            osm.way(pts, {"highway": "residential", "name": f"Lane {j + 1}", "maxspeed": "30"})
    hill = [(STREET_X[-1], MAIN_Y), (1220.0, MAIN_Y), ASSEMBLY]
    osm.way(hill, {"highway": "tertiary", "name": "Hill Road", "maxspeed": "50"})
    osm.way([(STREET_X[0], MAIN_Y), (valley.levee_x, MAIN_Y)],
            {"highway": "residential", "name": "Levee Lane", "maxspeed": "30"})  # fmt: skip
    levee_path = [(valley.levee_x, y) for y in (LEVEE_PATH_Y[0], MAIN_Y, LEVEE_PATH_Y[1])]
    osm.way(levee_path, {"highway": "footway", "name": "Levee Path", "surface": "gravel"})
    house_tags = {"building": "house", "building:levels": "2"}
    for c, x in enumerate(STREET_X[:-1]):
        for r, y in enumerate(STREET_Y[:-1]):
            if (c, r) in FACILITY_BLOCKS:
                name, tags = FACILITY_BLOCKS[c, r]
                osm.area(x + 20.0, y + 25.0, 60.0, 50.0, {**tags, "name": name})
                continue
            for dx, dy in ((15.0, 15.0), (65.0, 15.0), (15.0, 70.0), (65.0, 70.0)):
                osm.area(x + dx, y + dy, *HOUSE, house_tags)
    ax, ay = ASSEMBLY
    meadow = {"emergency": "assembly_point", "name": "Hill Meadow", "leisure": "park"}
    osm.area(ax - 20.0, ay + 10.0, 40.0, 30.0, meadow)
    return osm.text()


_ORDINAL = ("First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth")

#: File name -> text maker, for each generated city (paths relative to a maps folder).
FILES: dict[str, dict[str, Callable[[], str]]] = {
    "valley": {
        "valley/valley.osm": osm_text,
        "valley/valley.asc": dem_text,
        "valley/valley.prj": lambda: UTM32N_ESRI_WKT + "\n",
    }
}


@dataclass(frozen=True)
class Written:
    """One generated file: where it was written and its SHA-256."""

    path: Path
    sha256: str


def generate(city: str, folder: str | Path) -> list[Written]:
    """Write a synthetic city's input files under ``folder`` (a maps-path folder).

    Parameters
    ----------
    city
        A name of :data:`GENERATORS` (``valley``).
    folder
        Folder to write into; files go to ``folder/<city>/`` as the catalogue names them,
        so putting ``folder`` on the maps path (``--maps``, ``TWIN_MAPS``) makes
        ``city: {name: valley}`` find them. Each file is written atomically.

    Returns
    -------
    list of Written
        The files with their SHA-256 (the catalogue's checksums).
    """
    if city not in FILES:
        from twin.errors import Problem, UserInputError

        raise UserInputError(
            Problem(
                f"no generator for a city named {city!r}",
                field="city",
                fix=f"generators: {', '.join(GENERATORS)}",
            )
        )
    written = []
    for relative, make in FILES[city].items():
        data = make().encode("utf-8")
        path = Path(folder) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, data)
        written.append(Written(path, hashlib.sha256(data).hexdigest()))
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m twin.city.synthetic CITY FOLDER``: generate without the CLI."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m twin.city.synthetic valley FOLDER", file=sys.stderr)
        return 2
    for item in generate(args[0], args[1]):
        print(f"{item.path}  sha256 {item.sha256}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
