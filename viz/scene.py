"""A PyVista scene of a city pack and a run's state, built once and updated in place.

:class:`CityScene` builds every mesh once (terrain, buildings, roads, water, agents,
incidents, units, texts); :meth:`CityScene.update` changes their scalars and points for a
new :class:`SceneState`, never their number, so an animation is one scene and many
``update`` + ``screenshot`` calls (the shape of PyVista's ``examples/02-plot/gif.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

import viz  # noqa: F401  (off-screen settings before VTK loads)

if TYPE_CHECKING:
    import pyvista as pv

    from twin.city import CityPack

#: Colours (RGB, 0-255) the tests and the legend rely on.
SEA_RGB = (20, 60, 140)
BUILDING_RGB = (200, 170, 140)
CLOSED_RGB = (230, 0, 230)
#: Water depth from light (0 m) to dark (1 m and more) blue; never white.
WATER_CMAP = ("#a6dcff", "#3d8fd6", "#08306b")
ROAD_CMAP = "RdYlGn"
#: Terrain colours from the shore to the summits: no blue, so water stands out.
TERRAIN_COLOURS = ("#c8d8a0", "#9bbf75", "#b8a46a", "#8c7250", "#e8e0d8")
#: Agent state codes and colours (vehicles and walkers alike).
AGENT_STATES = {0: "moving", 1: "queued", 2: "stranded", 3: "in hazard"}
AGENT_COLOURS = ("#ffffff", "#ffb000", "#ff3030", "#00e0ff")
INCIDENT_RGB = (255, 40, 0)
UNIT_RGB = (0, 0, 0)
#: Height of roads above the terrain (m, before exaggeration): drawn over the ground.
ROAD_LIFT = 1.5
#: Height of agents, incidents and units above the ground (m, before exaggeration).
AGENT_LIFT = 3.0
#: Height of the water surface drawn above the terrain (m) where depth is below it.
WATER_LIFT = 0.3


@dataclass
class SceneState:
    """What a run looks like at one time; every field may be left empty.

    Attributes
    ----------
    time
        Seconds since the scenario start (the clock label).
    depth
        ``(ny, nx)`` water depth (m) on the terrain grid; NaN on sea and buildings.
    speed_index
        ``(L,)`` speed / free speed of each drive link, in [0, 1].
    closed
        ``(L,)`` bool, drive links closed to traffic.
    vehicles, walkers
        ``(n, 2)`` x, y (m, pack CRS) of each agent.
    vehicle_state, walker_state
        ``(n,)`` state codes (:data:`AGENT_STATES`).
    incidents, units
        ``(n, 2)`` x, y (m) of open incidents and of response units.
    warning
        Warning level in words (``"amber"``), shown top right.
    """

    time: float = 0.0
    depth: np.ndarray | None = None
    speed_index: np.ndarray | None = None
    closed: np.ndarray | None = None
    vehicles: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    vehicle_state: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    walkers: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    walker_state: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    incidents: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    units: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    warning: str = ""


def cells(grid: np.ndarray) -> np.ndarray:
    """Cell data of a ``(ny, nx)`` terrain-grid array, in the order of the scene's surfaces."""
    return np.asarray(grid).ravel(order="F")


def agent_points(pack: CityPack, xy: np.ndarray, exaggeration: float) -> np.ndarray:
    """``(n, 3)`` scene points of agents, incidents or units at ``xy`` (m, pack CRS): 3 m
    above the ground, times the vertical exaggeration."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    z = (pack.terrain.sample(xy[:, 0], xy[:, 1]) + AGENT_LIFT) * exaggeration
    return np.column_stack([xy, z])


def road_scalars(state: SceneState, n_links: int) -> np.ndarray:
    """``(n_links,)`` road colour values of ``state``: the speed index in [0, 1] (1 where
    not given), -1 on closed links (drawn in :data:`CLOSED_RGB`)."""
    speed = np.ones(n_links)
    if state.speed_index is not None:
        speed[:] = np.clip(state.speed_index, 0, 1)
    if state.closed is not None:
        speed[np.asarray(state.closed, dtype=bool)] = -1.0
    return speed


def clock_text(seconds: float) -> str:
    """``T+hh:mm:ss`` of a time in seconds."""
    s = round(seconds)
    return f"T+{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class CityScene:
    """The 3-D scene of a city pack.

    Parameters
    ----------
    pack
        The city.
    exaggeration
        Vertical exaggeration of terrain and buildings (1 = true scale).
    wet_depth
        Depth (m) above which a cell shows water.
    window_size
        (width, height) of the image, pixels.
    off_screen
        Render without a window (stills, animations, tests).
    """

    def __init__(
        self,
        pack: CityPack,
        *,
        exaggeration: float = 1.5,
        wet_depth: float = 0.01,
        window_size: tuple[int, int] = (1280, 800),
        off_screen: bool = True,
    ) -> None:
        import pyvista as pv
        from matplotlib.colors import LinearSegmentedColormap

        from twin.flood.grid import sea_mask

        self.pack = pack
        self.exaggeration = float(exaggeration)
        self.wet_depth = float(wet_depth)
        terrain = pack.terrain
        self.ground = np.asarray(terrain.elevation, dtype=np.float64)
        self.sea = sea_mask(self.ground)
        # No multi-sample anti-aliasing: PyVista's default theme asks for 8 samples a
        # pixel, which Mesa's software renderer pays for in full (benchmarks/viz.py's
        # 1920x1080 frame took about twice as long with it); a map-like scene of flat
        # colours reads as well without it.
        self.plotter = pv.Plotter(off_screen=off_screen, window_size=list(window_size))
        self.plotter.ren_win.SetMultiSamples(0)
        self.plotter.set_background("#dfe8f0", top="#f8fbff")

        self.terrain_mesh = self._grid_mesh(self.ground)
        elevation = self.ground.copy()
        elevation[self.sea] = np.nan
        self.terrain_mesh.cell_data["elevation"] = cells(elevation)
        high = max(float(np.nanmax(elevation)) if (~self.sea).any() else 1.0, 1.0)
        self.plotter.add_mesh(
            self.terrain_mesh,
            scalars="elevation",
            cmap=LinearSegmentedColormap.from_list("land", TERRAIN_COLOURS),
            clim=(0.0, high),
            nan_color=[c / 255 for c in SEA_RGB],
            show_scalar_bar=False,
            smooth_shading=False,
        )

        # Dry cells of the water surface are hidden (VTK's ghost array, HIDDENCELL), not
        # drawn with a transparent colour: a transparent colour makes the actor translucent,
        # and VTK's translucent pass over the whole grid cost Mesa's software renderer about
        # a second of each 1920x1080 frame (benchmarks/viz.py); hidden cells cost nothing.
        import vtk

        self.water_mesh = self._grid_mesh(self.ground + WATER_LIFT)
        self.water_mesh.cell_data["depth"] = np.full(self.ground.size, np.nan)
        self._ghosts = vtk.vtkDataSetAttributes.GhostArrayName()
        self.water_mesh.cell_data[self._ghosts] = np.full(
            self.ground.size, vtk.vtkDataSetAttributes.HIDDENCELL, dtype=np.uint8
        )
        self.water_actor = self.plotter.add_mesh(
            self.water_mesh,
            scalars="depth",
            cmap=LinearSegmentedColormap.from_list("water", WATER_CMAP),
            clim=(0.0, 1.0),
            scalar_bar_args={"title": "water depth (m)", "position_x": 0.26, "width": 0.3},
        )

        self.building_meshes = self._buildings(pv)
        for mesh in self.building_meshes:
            self.plotter.add_mesh(mesh, color=[c / 255 for c in BUILDING_RGB], lighting=True)

        self.road_mesh = self._roads(pv)
        self.plotter.add_mesh(
            self.road_mesh,
            scalars="speed_index",
            cmap=ROAD_CMAP,
            clim=(0.0, 1.0),
            below_color=[c / 255 for c in CLOSED_RGB],
            line_width=3,
            lighting=False,
            scalar_bar_args={"title": "speed index", "position_x": 0.62, "width": 0.3},
        )

        self.vehicle_mesh = self._points(pv)
        self.walker_mesh = self._points(pv)
        self.point_actors = {}
        for mesh, size in ((self.vehicle_mesh, 7), (self.walker_mesh, 4)):
            self.point_actors[id(mesh)] = self.plotter.add_mesh(
                mesh,
                scalars="state",
                cmap=list(AGENT_COLOURS),
                clim=(0, len(AGENT_COLOURS) - 1),
                n_colors=len(AGENT_COLOURS),
                point_size=size,
                render_points_as_spheres=True,
                show_scalar_bar=False,
            )
        self.incident_mesh = self._points(pv)
        self.point_actors[id(self.incident_mesh)] = self.plotter.add_mesh(
            self.incident_mesh,
            color=[c / 255 for c in INCIDENT_RGB],
            point_size=16,
            render_points_as_spheres=True,
        )
        self.unit_mesh = self._points(pv)
        self.point_actors[id(self.unit_mesh)] = self.plotter.add_mesh(
            self.unit_mesh,
            color=[c / 255 for c in UNIT_RGB],
            point_size=12,
            render_points_as_spheres=False,
        )

        self.clock = self.plotter.add_text(clock_text(0), position="upper_left", font_size=12)
        self.warning = self.plotter.add_text("", position="upper_right", font_size=12)
        self.plotter.add_text(pack.attribution, position="lower_right", font_size=7)
        self.plotter.add_legend(
            [
                ["sea", [c / 255 for c in SEA_RGB]],
                ["buildings", [c / 255 for c in BUILDING_RGB]],
                ["road closed", [c / 255 for c in CLOSED_RGB]],
                ["incident", [c / 255 for c in INCIDENT_RGB]],
                ["unit", [c / 255 for c in UNIT_RGB]],
            ],
            bcolor="white",
            loc="lower left",
            size=(0.16, 0.2),
            face="rectangle",
        )
        self.camera("overview")

    # -- building the meshes (once) -------------------------------------------------------
    def _grid_mesh(self, z: np.ndarray) -> pv.StructuredGrid:
        """A surface with one cell per terrain cell, corners at the cell edges; corner
        heights are the mean of the cells around them (times the exaggeration)."""
        import pyvista as pv

        terrain = self.pack.terrain
        ny, nx = z.shape
        res = terrain.resolution
        xs = terrain.x0 + np.arange(nx + 1) * res
        ys = terrain.y0 - np.arange(ny + 1) * res
        padded = np.pad(z, 1, mode="edge")
        corners = (padded[:-1, :-1] + padded[1:, :-1] + padded[:-1, 1:] + padded[1:, 1:]) / 4
        gx, gy = np.meshgrid(xs, ys)
        # meshgrid's (row, column) arrays go to VTK in Fortran order: rows vary fastest, so
        # cell data is the grid raveled in that order (see :func:`cells`).
        mesh = pv.StructuredGrid(gx, gy, corners * self.exaggeration)
        return mesh

    def _buildings(self, pv) -> list[pv.PolyData]:
        """Footprints extruded from the ground to their heights: one mesh per use."""
        frame = self.pack.buildings
        groups: dict[str, tuple[list, list]] = {}
        for geom, height, ground, use in zip(
            frame.geometry, frame["height"], frame["ground_elevation"], frame["use"], strict=True
        ):
            polys = getattr(geom, "geoms", [geom])
            for poly in polys:
                ring = np.asarray(poly.exterior.coords)[:-1, :2]
                if len(ring) < 3:
                    continue
                points, faces = groups.setdefault(str(use), ([], []))
                base = sum(len(p) for p in points)
                n = len(ring)
                z0 = float(ground) * self.exaggeration
                z1 = (float(ground) + float(height)) * self.exaggeration
                points.append(np.column_stack([ring, np.full(n, z0)]))
                points.append(np.column_stack([ring, np.full(n, z1)]))
                i = np.arange(n)
                j = (i + 1) % n
                walls = np.column_stack(
                    [np.full(n, 4), base + i, base + j, base + n + j, base + n + i]
                )
                faces.append(walls.ravel())
                faces.append(np.concatenate([[n], base + n + i]))
        meshes = []
        for points, faces in groups.values():
            mesh = pv.PolyData(np.vstack(points), np.concatenate(faces)).triangulate()
            meshes.append(mesh)
        return meshes

    def _roads(self, pv) -> pv.PolyData:
        """Drive links as polylines a little above the ground, one cell per link."""
        links = self.pack.links("drive")
        z = self.pack.terrain.sample(links.geom_x, links.geom_y) + ROAD_LIFT
        points = np.column_stack([links.geom_x, links.geom_y, z * self.exaggeration])
        counts = np.diff(links.geom_offsets)
        cells = []
        for start, n in zip(links.geom_offsets[:-1], counts, strict=True):
            cells.append(np.concatenate([[n], np.arange(start, start + n)]))
        mesh = pv.PolyData(points, lines=np.concatenate(cells))
        mesh.cell_data["speed_index"] = np.ones(counts.size)
        return mesh

    @staticmethod
    def _points(pv) -> pv.PolyData:
        """A point cloud, empty until :meth:`update` fills it (one far-away hidden point
        keeps VTK's mappers valid)."""
        mesh = pv.PolyData(np.zeros((1, 3)))
        mesh.point_data["state"] = np.zeros(1)
        return mesh

    # -- updating (every frame) -----------------------------------------------------------
    def update(self, state: SceneState) -> None:
        """Show ``state``: changes scalars and points of the meshes built once."""
        import vtk

        depth = self.water_mesh.cell_data["depth"]
        if state.depth is None:
            depth[:] = np.nan
        else:
            d = np.asarray(state.depth, dtype=np.float64)
            if d.shape != self.ground.shape:
                raise ValueError(f"depth grid {d.shape} is not the terrain's {self.ground.shape}")
            wet = np.where(d > self.wet_depth, d, np.nan)
            depth[:] = cells(wet)
            surface = self.ground + np.where(np.isfinite(wet), np.maximum(wet, WATER_LIFT), 0)
            points = self._grid_mesh(surface).points
            self.water_mesh.points[:] = points
        hidden = vtk.vtkDataSetAttributes.HIDDENCELL
        self.water_mesh.cell_data[self._ghosts][:] = np.where(np.isfinite(depth), 0, hidden)
        self.water_mesh.Modified()

        speed = self.road_mesh.cell_data["speed_index"]
        speed[:] = road_scalars(state, speed.size)
        self.road_mesh.Modified()

        self._set_points(self.vehicle_mesh, state.vehicles, state.vehicle_state)
        self._set_points(self.walker_mesh, state.walkers, state.walker_state)
        self._set_points(self.incident_mesh, state.incidents, None)
        self._set_points(self.unit_mesh, state.units, None)
        self.clock.SetText(2, clock_text(state.time))
        self.warning.SetText(3, f"warning: {state.warning}" if state.warning else "")

    def _set_points(self, mesh: pv.PolyData, xy: np.ndarray, codes: np.ndarray | None) -> None:
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        if len(xy) == 0:  # one point under the ground, out of sight
            xyz = np.array([[self.pack.terrain.x0, self.pack.terrain.y0, -1e4]])
            codes = np.zeros(1)
        else:
            xyz = agent_points(self.pack, xy, self.exaggeration)
            codes = np.zeros(len(xy)) if codes is None else np.asarray(codes, dtype=float)
        import pyvista as pv

        fresh = pv.PolyData(xyz)
        mesh.points = fresh.points
        mesh.verts = fresh.verts
        mesh.point_data["state"] = codes

    # -- cameras and images ---------------------------------------------------------------
    def camera(self, name: str = "overview") -> None:
        """Point the camera: ``overview`` (top-down, north up), ``oblique`` (from the
        south-east, 35 degrees up) or the name of a place or facility of the pack."""
        from twin.errors import UserInputError

        xmin, ymin, xmax, ymax = self.pack.terrain.bounds
        cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
        zc = float(np.median(self.ground)) * self.exaggeration
        span = max(xmax - xmin, ymax - ymin)
        cam = self.plotter.camera
        if name == "overview":
            self.plotter.enable_parallel_projection()
            cam.focal_point = (cx, cy, zc)
            cam.position = (cx, cy, zc + 3 * span)
            cam.up = (0.0, 1.0, 0.0)
            self.plotter.reset_camera(bounds=(xmin, xmax, ymin, ymax, zc, zc))
            cam.parallel_scale = (ymax - ymin) / 2 * 1.02
            return
        self.plotter.disable_parallel_projection()
        if name == "oblique":
            target, distance = (cx, cy, zc), 0.9 * span
        else:
            where = self._place(name)
            if where is None:
                raise UserInputError(
                    f"--camera: no camera preset or place named {name!r} (fix: use overview, "
                    "oblique, or a name from `twin maps where`)"
                )
            target, distance = where, 600.0
        self._oblique(target, distance)

    def look_at(self, x: float, y: float, distance: float = 600.0) -> None:
        """Point the camera obliquely at ground point ``(x, y)`` (m, pack CRS) from
        ``distance`` (m) away, as for a named place."""
        self.plotter.disable_parallel_projection()
        z = float(self.pack.terrain.sample(x, y)) * self.exaggeration
        self._oblique((float(x), float(y), z), distance)

    def _oblique(self, target: tuple[float, float, float], distance: float) -> None:
        cam = self.plotter.camera
        cam.focal_point = target
        cam.position = (
            target[0] + 0.4 * distance,
            target[1] - 0.7 * distance,
            target[2] + 0.6 * distance,
        )
        cam.up = (0.0, 0.0, 1.0)
        self.plotter.reset_camera_clipping_range()

    def _place(self, name: str) -> tuple[float, float, float] | None:
        wanted = name.casefold()
        for frame in (self.pack.places, self.pack.facilities):
            if frame is None or "name" not in frame:
                continue
            hit = frame[frame["name"].astype(str).str.casefold() == wanted]
            if len(hit):
                p = hit.geometry.iloc[0].centroid
                z = float(self.pack.terrain.sample(p.x, p.y)) * self.exaggeration
                return (p.x, p.y, z)
        return None

    def screenshot(self, path=None) -> np.ndarray:
        """Render and return the image, (height, width, 3) uint8; also written to ``path``
        (PNG, atomically) when given."""
        self.plotter.render()
        image = self.plotter.screenshot(return_img=True)
        if path is not None:
            from PIL import Image

            from twin.atomic import atomic_path

            with atomic_path(path) as tmp:
                Image.fromarray(image).save(tmp, format="PNG")
        return image

    def to_pixels(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Image (column, row) of world points (m; z before exaggeration), row 0 at top."""
        import vtk

        coordinate = vtk.vtkCoordinate()
        coordinate.SetCoordinateSystemToWorld()
        renderer = self.plotter.renderer
        height = self.plotter.window_size[1]
        out = np.empty((len(x), 2), dtype=int)
        for k, (px, py, pz) in enumerate(zip(x, y, z, strict=True)):
            coordinate.SetValue(px, py, pz * self.exaggeration)
            col, row = coordinate.GetComputedDisplayValue(renderer)
            out[k] = (col, height - 1 - row)
        return out

    def prepare_export(self) -> None:
        """Before exporting the meshes (glTF): drop the empty point clouds (their hidden
        point lies 10 km under the ground) and keep only the wet cells of the water surface,
        so a viewer without NaN transparency sees no sheet over the dry land. The scene is
        for export only afterwards."""
        for mesh in (self.vehicle_mesh, self.walker_mesh, self.incident_mesh, self.unit_mesh):
            if mesh.n_points == 1 and mesh.points[0, 2] == -1e4:
                self.plotter.remove_actor(self.point_actors[id(mesh)], render=False)
        wet = np.flatnonzero(np.isfinite(self.water_mesh.cell_data["depth"]))
        if wet.size == 0:
            self.plotter.remove_actor(self.water_actor, render=False)
        else:
            self.water_actor.mapper.SetInputData(
                self.water_mesh.extract_cells(wet).extract_surface(algorithm=None)
            )

    def close(self) -> None:
        """Release the render window."""
        self.plotter.close()
