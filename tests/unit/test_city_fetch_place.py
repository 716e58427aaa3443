"""``twin maps fetch --place``: the Overpass query selects every tag the reader uses, the
saved ``.osm`` reads back, and osmnx's request layer against a local HTTP server on
127.0.0.1 (no network) gives a file or one clear error."""

from __future__ import annotations

import itertools
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from twin.city.osm_read import LANDCOVER_BY_TAG, facility_kind, landcover_class, read_osm
from twin.city.overpass import fetch_place, overpass_query, overpass_to_osm_xml, place_filters
from twin.errors import MapDataError

#: Tag values the reader distinguishes, plus values it ignores, to combine in pairs.
VOCABULARY = {
    "amenity": ["hospital", "fire_station", "police", "school", "community_centre", "shelter",
                "refugee_site", "townhall", "cafe"],
    "healthcare": ["hospital", "clinic"],
    "emergency": ["assembly_point", "shelter", "yes", "designated", "no", "phone"],
    "social_facility": ["shelter", "group_home"],
    "shelter_type": ["public_transport", "basic_hut", "bunker"],
    **{key: [*classes, "other"] for key, classes in LANDCOVER_BY_TAG.items()},
}  # fmt: skip


def _selected(kind: str, tags: dict[str, str]) -> bool:
    return any(f.selects(kind, tags) for f in place_filters())


def _tag_sets():
    pairs = [(k, v) for k, values in VOCABULARY.items() for v in values]
    yield from ({k: v} for k, v in pairs)
    for (k1, v1), (k2, v2) in itertools.combinations(pairs, 2):
        if k1 != k2:
            yield {k1: v1, k2: v2}


def test_query_selects_everything_the_reader_keeps():
    """Every pair of tags that makes a facility or land cover is fetched, as a node (for
    facilities) and as a way or relation (areas); the old query had no land use, natural,
    waterway or leisure tags and no refugee sites or emergency=shelter."""
    checked = 0
    for tags in _tag_sets():
        if facility_kind(tags) is not None:
            assert all(_selected(kind, tags) for kind in ("node", "way", "relation")), tags
            checked += 1
        if landcover_class(tags) is not None:
            assert _selected("way", tags), tags
            assert _selected("relation", tags), tags
            checked += 1
    assert checked > 300  # the vocabulary's pairs really exercise both tables
    assert _selected("way", {"highway": "residential"})
    assert _selected("relation", {"building": "yes", "type": "multipolygon"})
    assert _selected("node", {"name": "Place du Casino", "place": "square"})
    assert not _selected("node", {"amenity": "bench"})


def test_query_text():
    query = overpass_query("(43.7,7.4,43.75,7.45)", "[out:json][timeout:99]")
    assert query.startswith("[out:json][timeout:99];(")
    assert query.endswith(");(._;>;);out body;")
    for text in ('way["highway"](43.7,7.4,43.75,7.45);',
                 'relation["building"](43.7,7.4,43.75,7.45);',
                 'way["waterway"~"^(dock|riverbank)$"](43.7,7.4,43.75,7.45);',
                 'relation["natural"~"^(beach|grassland|heath|scrub|water|wood)$"]',
                 'node["emergency"~"^(assembly_point|shelter)$"]',
                 'node["healthcare"="hospital"]',
                 'way["landuse"~"^(allotments|basin|'):  # fmt: skip
        assert text in query


CORNERS = [{"type": "node", "id": i, "lat": 43.730 + 0.001 * (i // 2),
            "lon": 7.420 + 0.001 * (i % 2)} for i in range(1, 7)]  # fmt: skip
ELEMENTS = [
    *CORNERS,
    {
        "type": "node",
        "id": 7,
        "lat": 43.7305,
        "lon": 7.4205,
        "tags": {"name": 'Café & "Bar" <1>', "amenity": "cafe"},
    },
    {"type": "node", "id": 8, "lat": 43.7315, "lon": 7.4205, "tags": {"amenity": "fire_station"}},
    {"type": "way", "id": 100, "nodes": [1, 2, 4, 3], "tags": {"highway": "residential"}},
    {
        "type": "way",
        "id": 101,
        "nodes": [3, 4, 6, 5, 3],
        "tags": {"building": "hospital", "amenity": "hospital", "name": "H"},
    },
    {"type": "way", "id": 102, "nodes": [1, 2, 4, 3, 1]},
    {
        "type": "relation",
        "id": 200,
        "members": [{"type": "way", "ref": 102, "role": "outer"}],
        "tags": {"type": "multipolygon", "leisure": "park"},
    },
]


def test_overpass_json_becomes_an_osm_file_the_reader_reads(tmp_path):
    path = tmp_path / "place.osm"
    path.write_text("\n".join(overpass_to_osm_xml(ELEMENTS, (7.41, 43.72, 7.43, 43.74))))
    data = read_osm(path)
    assert [w[0] for w in data.ways] == [100]
    assert data.bbox == pytest.approx((7.41, 43.72, 7.43, 43.74))
    assert [b[0] for b in data.buildings] == [101]
    assert sorted(f[2] for f in data.facilities) == ["fire_station", "hospital"]
    assert [(c[0], c[2]) for c in data.landcover] == [(200, "parks")]
    assert [p[3] for p in data.places] == ['Café & "Bar" <1>']


class _Handler(BaseHTTPRequestHandler):
    def _answer(self):
        route = self.server.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404, "Not Found")
            return
        status, body = route(self)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._answer()

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.server.queries.append(parse_qs(self.rfile.read(length).decode())["data"][0])
        self._answer()

    def log_message(self, *args):
        pass


SQUARE = [[7.41, 43.72], [7.43, 43.72], [7.43, 43.74], [7.41, 43.74], [7.41, 43.72]]
NOMINATIM = [{"place_id": 1, "osm_type": "relation", "osm_id": 9, "importance": 0.9,
              "boundingbox": ["43.72", "43.74", "7.41", "7.43"], "lat": "43.73", "lon": "7.42",
              "display_name": "Testville", "class": "boundary", "type": "administrative",
              "geojson": {"type": "Polygon", "coordinates": [SQUARE]}}]  # fmt: skip


@pytest.fixture
def servers(monkeypatch, tmp_path):
    """A local Nominatim and Overpass for osmnx; its settings restored afterwards."""
    import osmnx as ox

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.queries = []
    httpd.routes = {
        "/nominatim/search": lambda h: (200, NOMINATIM),
        "/api/interpreter": lambda h: (200, {"elements": ELEMENTS}),
    }
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    monkeypatch.setattr(socket, "getaddrinfo", socket.getaddrinfo)  # osmnx patches it
    monkeypatch.setattr(ox.settings, "nominatim_url", url + "/nominatim")
    monkeypatch.setattr(ox.settings, "overpass_url", url + "/api")
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr(ox.settings, "requests_timeout", 5)
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "twincache"))
    monkeypatch.chdir(tmp_path)
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_fetch_place_through_osmnx(servers, tmp_path):
    path = fetch_place("Testville, Nowhere", tmp_path / "data")
    assert path == tmp_path / "data" / "places" / "testville--nowhere.osm"
    assert [w[0] for w in read_osm(path).ways] == [100]
    (query,) = servers.queries
    assert query.startswith("[out:json][timeout:5]")  # osmnx's settings statement
    assert 'way["highway"](poly:"43.720000 7.410000 43.720000 7.430000 ' in query  # lat lon
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_fetch_place_caches_under_the_twin_cache_not_the_current_folder(servers, tmp_path):
    """osmnx caches answers in ./cache by default: in whatever folder twin was run from."""
    fetch_place("Testville", tmp_path / "data")
    assert len(list((tmp_path / "twincache" / "overpass").glob("*.json"))) == 2  # both servers
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("route", "answer", "said"),
    [("/nominatim/search", (200, []), "geocoding 'Testville' failed: Nominatim geocoder "
      "returned 0 results"),
     ("/api/interpreter", (500, "<html>server error</html>"), "the Overpass query for "
      "'Testville' failed"),
     ("/api/interpreter", (200, {"elements": [], "remark": "runtime error: timed out"}),
      "Overpass answered only in part: runtime error"),
     ("/api/interpreter", (200, {"elements": ELEMENTS[:6]}), "found no streets")],
)  # fmt: skip
def test_fetch_place_errors_are_one_clear_message(servers, tmp_path, route, answer, said):
    servers.routes[route] = lambda h: answer
    with pytest.raises(MapDataError, match=said) as info:
        fetch_place("Testville", tmp_path / "data")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "data").exists()


def test_fetch_place_unreachable_server(servers, tmp_path, monkeypatch):
    import osmnx as ox

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(ox.settings, "nominatim_url", f"http://127.0.0.1:{port}/nominatim")
    with pytest.raises(MapDataError, match=r"geocoding 'Testville' failed: .*Connection"):
        fetch_place("Testville", tmp_path / "data")


def test_cli_place_error_is_one_line(servers, tmp_path):
    from typer.testing import CliRunner

    from twin.cli import _register, app

    _register()
    servers.routes["/api/interpreter"] = lambda h: (502, "<html>Bad Gateway</html>")
    args = ["maps", "fetch", "--place", "Testville", "--dest", str(tmp_path / "data")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "the Overpass query for 'Testville' failed" in result.output
    assert "Traceback" not in result.output
    servers.routes["/api/interpreter"] = lambda h: (200, {"elements": ELEMENTS})
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = tmp_path / "data" / "places" / "testville.osm"
    assert f"saved {saved};" in result.output  # whole, not wrapped: it can be copied
    assert saved.is_file()
