"""``twin run`` and ``twin compare`` write the report by default through the after-run hook
that viz registers (twin never imports viz); ``--no-report`` skips it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.viz.test_report import SECTIONS


def _app():
    from twin.cli import _register, app

    _register()
    return app


def test_viz_registers_the_report_hook():
    """viz registers a lazy hook: viz.report (matplotlib, pandas) is imported only when a
    run asks for its report."""
    from twin.plugins import AFTER_RUN
    from viz.cli import _report_after_run

    _app()
    assert AFTER_RUN["report"] is _report_after_run


def test_run_and_compare_wrote_their_reports(outputs):
    """The session's ``twin run`` and ``twin compare`` (conftest.outputs) ran with the
    default ``--report``."""
    run = (outputs / "run" / "report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in run
    assert 'alt="3-D view: peak depth"' in run  # from vitals.csv and flood_maps.npz
    study = (outputs / "study_report.html").read_text(encoding="utf-8")
    assert 'id="verdict"' in study
    assert "Paired differences against the baseline" in study


def test_no_report_skips_it(tmp_path, monaco_pack):
    from tests.conftest import REPO

    out = tmp_path / "run"
    scenario = str(REPO / "scenarios" / "monaco_flash_flood.yaml")
    args = ["run", scenario, "--out", str(out), "--until", "2min", "--no-progress"]
    result = CliRunner().invoke(_app(), [*args, "--no-report"])
    assert result.exit_code == 0, result.output
    assert (out / "kpis.json").is_file()
    assert not (out / "report.html").exists()
    assert "wrote report" not in result.output


def test_a_failing_hook_is_a_warning_not_a_failed_run(monkeypatch, tmp_path):
    from twin import plugins

    def broken(kind: str, target: Path, **details) -> Path:
        raise ValueError(f"cannot draw {kind} {target.name}")

    def fine(kind: str, target: Path, **details) -> Path:
        return target / f"{kind}-{details['study_id']}.txt"

    monkeypatch.setattr(plugins, "AFTER_RUN", {"broken": broken, "fine": fine})
    assert plugins.after_run("compare", tmp_path, study_id="s1") == [
        ("broken", None, f"ValueError: cannot draw compare {tmp_path.name}"),
        ("fine", tmp_path / "compare-s1.txt", ""),
    ]
