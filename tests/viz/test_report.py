"""``twin report``: one self-contained HTML file of a run folder or a study."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

from typer.testing import CliRunner

SECTIONS = ("summary", "map", "kpis", "plots", "events", "manifest", "credit")


def _app():
    from twin.cli import _register, app

    _register()
    return app


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def _report(target, out, *extra) -> str:
    result = CliRunner().invoke(_app(), ["report", str(target), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_report_of_a_flood_run_has_every_section_and_inlines_its_images(outputs, tmp_path):
    from PIL import Image

    html = _report(outputs / "flood", tmp_path / "report.html")
    for section in (*SECTIONS, "still"):
        assert f'id="{section}"' in html
    assert "© OpenStreetMap contributors, ODbL" in html
    # self-contained: no link, script or image leaves the file
    assert not re.search(r'(src|href)="(?!data:)', html)
    images = _images(html)
    assert len(images) == 3  # map, 3-D still at the peak depth, gauge depths
    assert 'alt="3-D view: peak depth"' in html
    assert "first closure" not in html  # no street reaches 0.3 m in the first 600 s
    for data in images:
        assert min(Image.open(io.BytesIO(data)).size) > 100
    run = json.loads((outputs / "flood" / "run.json").read_text())
    assert f"<td>{run['seed']}</td>" in html
    assert f"<td>{run['pack_hash']}</td>" in html
    assert f"<td>{run['dependencies']['numpy']}</td>" in html


def test_report_of_a_respond_folder_tables_both_plans(outputs, tmp_path):
    html = _report(outputs / "respond", tmp_path / "report.html")
    assert "<th>baseline</th><th>two_stations</th>" in html
    assert "Response times" in html
    assert html.count("slowest:") == 20  # ten slowest calls of each plan
    base = json.loads((outputs / "respond" / "baseline" / "kpis.json").read_text())
    assert f"<td>incidents</td><td>{base['incidents']}</td>" in html


def test_report_of_a_study_states_the_verdict(outputs, tmp_path):
    from twin.experiment.report import summarize
    from twin.experiment.store import Store

    html = _report(outputs / "study.duckdb", tmp_path / "study.html")
    with Store(outputs / "study.duckdb", read_only=True) as store:
        summary = summarize(store, store.studies()[0]["study_id"])
    assert 'id="verdict"' in html
    from markupsafe import escape

    for line in summary.variants[0].verdict:
        assert f"<li>{escape(line)}</li>" in html
    assert "Paired differences against the baseline" in html
    assert "© OpenStreetMap contributors, ODbL" in html


def test_report_escapes_user_text(outputs, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(outputs / "respond" / "baseline", folder)
    run = json.loads((folder / "run.json").read_text())
    run["scenario"]["description"] = "<script>alert(1)</script> & more"
    (folder / "run.json").write_text(json.dumps(run))
    html = _report(folder, tmp_path / "report.html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_a_folder_without_outputs_is_one_clear_message(tmp_path):
    result = CliRunner().invoke(_app(), ["report", str(tmp_path), "-o", "r.html"])
    assert result.exit_code == 2
    assert "no run outputs here" in result.output
    assert "Traceback" not in result.output


def test_a_run_of_an_older_format_is_one_clear_message(outputs, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(outputs / "respond" / "baseline", folder)
    run = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps(run | {"format": 0}))
    result = CliRunner().invoke(_app(), ["report", str(folder), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "run written by another version of twin (format 0;" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()
