"""City ingest: OpenStreetMap + terrain -> CityPack (road and walk graphs, buildings,
facilities, terrain grid), cached on disk."""

from twin.city.build import BuildOptions, build_city_pack
from twin.city.load import load_city
from twin.city.pack import CityPack

__all__ = ["BuildOptions", "CityPack", "build_city_pack", "load_city"]
