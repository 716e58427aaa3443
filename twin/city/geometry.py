"""Geometry helpers shared by the city builders: WKB in lon/lat -> shapely in metres."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def project(geometries, transformer):
    """Transform shapely geometries (array) with a ``pyproj.Transformer`` (always_xy)."""
    import shapely

    return shapely.transform(
        geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def project_wkb(wkbs: Sequence[bytes], transformer):
    """Polygons from lon/lat WKB, projected and made valid (numpy array of geometries)."""
    import shapely

    return shapely.make_valid(project(shapely.from_wkb(list(wkbs)), transformer))


def landcover_frame(records, transformer, crs: str):
    """Parks, woods and water areas as a GeoDataFrame (``osm_id``, ``cover``, geometry in m).

    Parameters
    ----------
    records
        ``(osm_id, wkb_lonlat, cover)`` from :class:`twin.city.osm_read.OsmData`.
    transformer, crs
        ``pyproj.Transformer`` lon/lat -> ``crs`` (always_xy) and the pack's CRS.
    """
    import geopandas as gpd

    geoms = project_wkb([r[1] for r in records], transformer) if records else []
    return gpd.GeoDataFrame(
        {"osm_id": [r[0] for r in records], "cover": [r[2] for r in records]},
        geometry=gpd.GeoSeries(geoms, crs=crs),
        crs=crs,
    )
