"""Key moments of the report's stills: first closure, peak depth, slowest response."""

from __future__ import annotations

import numpy as np

from tests.viz.test_report import _images, _report


def _snapshots(folder, pack, bands: dict[int, float]):
    """``depth.tif`` with one band per time (s), the same depth (m) on every cell."""
    import rasterio

    terrain = pack.terrain
    folder.mkdir(parents=True)
    ny, nx = terrain.shape
    with rasterio.open(
        folder / "depth.tif",
        "w",
        driver="GTiff",
        width=nx,
        height=ny,
        count=len(bands),
        dtype="float32",
        crs=terrain.crs,
        transform=terrain.transform,
    ) as dst:
        for k, (t, depth) in enumerate(bands.items(), start=1):
            dst.write(np.full((ny, nx), depth, np.float32), k)
            dst.set_band_description(k, f"t={t}s")
    return folder


def test_snapshots_give_first_closure_and_peak_depth(tmp_path, monaco_pack):
    from viz.moments import key_moments

    # 0.2 m at 300 s is below the 0.3 m car threshold; 0.35 m at 600 s closes streets;
    # the peak is 0.8 m at 900 s, after which the water recedes
    bands = {0: 0.0, 300: 0.2, 600: 0.35, 900: 0.8, 1200: 0.1}
    folder = _snapshots(tmp_path / "flood", monaco_pack, bands)
    moments = key_moments(monaco_pack, {"flood": folder})
    assert [m.title for m in moments] == ["first closure", "peak depth"]
    closure, peak = moments
    assert closure.time == 600.0
    n_links = monaco_pack.links("drive").n_links
    # every drive link lies on the grid under 0.35 m of water
    assert closure.state.closed.sum() == n_links
    assert f"({n_links} drive links" in closure.note
    assert peak.time == 900.0
    assert "0.80 m" in peak.note
    assert np.nanmax(peak.state.depth) == np.float32(0.8)


def test_a_flood_below_the_threshold_has_no_closure(tmp_path, monaco_pack):
    from viz.moments import key_moments

    folder = _snapshots(tmp_path / "flood", monaco_pack, {0: 0.0, 300: 0.29})
    assert [m.title for m in key_moments(monaco_pack, {"f": folder})] == ["peak depth"]


def test_a_coupled_run_takes_its_times_from_the_vital_signs(tmp_path, monaco_pack):
    from viz.moments import key_moments

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "vitals.csv").write_text(
        "time [s],km_closed_cars [km],max_depth_m [m]\n"
        "0,0,0\n60,0,0.1\n120,0.25,0.4\n180,1.5,0.9\n240,1.0,0.7\n"
    )
    deepest = np.zeros(monaco_pack.terrain.shape)
    deepest[10:20, 10:20] = 0.9
    np.savez(folder / "flood_maps.npz", depth=deepest * 0.5, max_depth=deepest)
    closure, peak = key_moments(monaco_pack, {"run": folder})
    assert (closure.title, closure.time, closure.state) == ("first closure", 120.0, None)
    assert "0.25 km of road closed to cars" in closure.note
    assert (peak.title, peak.time) == ("peak depth", 180.0)
    np.testing.assert_array_equal(peak.state.depth, deepest)


def test_slowest_response_is_the_longest_call_with_its_units(outputs, monaco_pack):
    import pandas as pd
    from pyproj import Transformer

    from viz.moments import key_moments
    from viz.plots import response_times

    folders = {p: outputs / "respond" / p for p in ("baseline", "two_stations")}
    moments = key_moments(monaco_pack, folders)
    assert [m.title for m in moments] == [
        "slowest response (baseline)",
        "slowest response (two_stations)",
    ]
    for moment, folder in zip(moments, folders.values(), strict=True):
        events = pd.read_csv(folder / "events.csv")
        times = response_times(folder / "events.csv")
        calls = events[events["event"] == "call"].groupby("incident").first()
        k = int(np.argmax(np.where(np.isfinite(times), times, np.inf)))
        assert moment.time == calls["time"].iloc[k]
        to_xy = Transformer.from_crs("EPSG:4326", monaco_pack.crs, always_xy=True)
        x, y = to_xy.transform(calls["lon"].iloc[k], calls["lat"].iloc[k])
        np.testing.assert_allclose(moment.focus, (x, y))
        assert len(moment.state.units) == events.loc[events["unit"] >= 0, "unit"].nunique()


def test_respond_report_shows_a_still_per_plan(outputs, tmp_path):
    html = _report(outputs / "respond", tmp_path / "report.html")
    assert 'id="still"' in html
    assert html.count('alt="3-D view: slowest response (') == 2
    assert len(_images(html)) == 4  # map, two stills, response-time CDFs
