"""``load_city``: a CityPack from a catalogue name or an OSM file, built once and cached."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from twin.city.build import BuildOptions, build_city_pack
from twin.city.cache import cache_path, load_cached, pack_key, sha256_file, store
from twin.city.catalogue import load_catalogue, resolve_city
from twin.city.osm_read import OSM_SUFFIXES, check_osm_path
from twin.city.pack import CityPack
from twin.errors import MapDataError, Problem


def _check_dem(path: Path) -> Path:
    if not path.is_file():
        raise MapDataError(
            Problem(
                "DEM file not found",
                file=path,
                field="dem",
                fix="check the path (SRTM .hgt, GeoTIFF or ESRI ASCII), or use --flat",
            )
        )
    return path


def load_city(
    source: str | Path,
    *,
    dem: Sequence[str | Path] | None = None,
    flat: bool = False,
    flat_elevation: float = 0.0,
    resolution: float = 10.0,
    service_roads: bool = False,
    maps: Sequence[str | Path] | None = None,
    largest_component: bool = False,
    use_cache: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> CityPack:
    """Load a city: from the cache when its inputs and options are unchanged, else build it.

    Parameters
    ----------
    source
        A catalogue name (``monaco``, ``helsinki``; see ``twin maps list``) or the path of an
        OSM file (``.osm.pbf``, ``.osm``, ``.osm.bz2``).
    dem
        DEM files for an OSM file (several tiles are mosaicked); for a catalogue city,
        overrides the catalogue's tiles.
    flat
        No terrain: a flat grid at 0 m (the pack states it). Implied for a catalogue city
        without DEM tiles (``helsinki``).
    flat_elevation
        Elevation of flat terrain (m above the stated datum).
    resolution
        Terrain grid cell size (m).
    service_roads
        Include service roads in the drive graph.
    maps
        Extra folders to search before ``TWIN_MAPS`` (the ``--maps`` option).
    largest_component
        Restrict the drive graph to its largest strongly connected component and the walk
        graph to its largest connected component.
    use_cache
        Read and write the on-disk cache (``TWIN_CACHE_DIR``).
    on_step
        Progress callback, called with each build step's label (not called on a cache hit).

    Raises
    ------
    MapDataError
        Unknown city, missing or corrupt file, checksum mismatch, DEM not covering the map.
    """
    maps_list = [Path(p) for p in maps] if maps else None
    dem_paths = [_check_dem(Path(p)) for p in dem] if dem else []
    text = str(source)
    looks_like_file = text.lower().endswith(OSM_SUFFIXES) or Path(text).exists()
    if text in load_catalogue().cities or not looks_like_file:
        city = resolve_city(text, maps_list)
        name, osm_path, sources = city.name, city.osm, dict(city.sources)
        if dem_paths:
            sources["dem"] = [{"file": p.name, "sha256": sha256_file(p)} for p in dem_paths]
        else:
            dem_paths = list(city.dems)
            flat = flat or not dem_paths
    else:
        osm_path = check_osm_path(Path(source))
        name = osm_path.name.split(".")[0]
        sources = {
            "osm": {"file": osm_path.name, "sha256": sha256_file(osm_path)},
            "dem": [{"file": p.name, "sha256": sha256_file(p)} for p in dem_paths],
        }
    if flat:
        dem_paths = []
        sources["dem"] = []
    options = BuildOptions(
        resolution=resolution,
        service_roads=service_roads,
        flat=flat,
        flat_elevation=flat_elevation if flat else 0.0,
    )
    path = cache_path(name, pack_key(sources, options.as_dict()))
    pack = load_cached(path) if use_cache else None
    if pack is None:
        pack = build_city_pack(
            osm_path, dem_paths, name=name, options=options, sources=sources, on_step=on_step
        )
        if use_cache:
            store(path, pack)
    return pack.largest_component() if largest_component else pack
