"""The figures' data and axes: MD stability plots, failing traces, scan.png, error_by_comparison.png,
and tables on stdout that a pipe does not wrap (each picture was also checked by eye)."""
from __future__ import annotations

import functools

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def study():
    """Two xTB models on water at 0.5, 6 and 8 fs: stable, then failing, both on the same points."""
    from acquire.md.calculators import calculator_for
    from acquire.md.runs import MDSettings, run_stability
    from acquire.molecules import load_molecule

    models = {name: functools.partial(calculator_for, name) for name in ("xtb:gfn2", "xtb:gfn1")}
    return run_stability(models, [load_molecule("O")], MDSettings(steps=120, save_every=0), [0.5, 6.0, 8.0], runs=2)


def _outside(fig, ax) -> bool:
    """Whether the axes' legend lies right of the axes (it covered a line inside them)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_stability_plots_keep_every_line_and_label_visible(study) -> None:
    from acquire.md.report import stability_figure

    for against in (False, True):
        fig = stability_figure(study, against_omega_dt=against)
        ax = fig.axes[0]
        assert _outside(fig, ax)
        markers = [line.get_marker() for line in ax.get_lines() if line.get_marker() not in ("None", "", "_")]
        assert len(set(markers)) == 2  # one per model: xTB's points no longer hide the other's
        if against:
            left, right = ax.get_xlim()
            for text in ax.texts:  # "unstable" at ωΔt 2 was clipped
                assert left < text.get_position()[0] < right
            assert {t.get_text().strip() for t in ax.texts} == {"unstable", "3:1", "4:1"}


def test_failing_traces_say_why_each_run_ended_and_tell_time_steps_apart(study) -> None:
    from acquire.md.report import FAILURE_MARKERS, traces_figure

    failed = [r for r in study.runs if not r.stable and len(r.trace.get("time_fs", [])) > 0]
    fig = traces_figure(study)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    series = {(r.model, r.timestep_fs) for r in failed}
    assert {f"{m}, {dt:g} fs" for m, dt in series} <= set(labels)  # 6 and 8 fs are not one colour
    colours = {h.get_color() for h, t in zip(ax.get_legend().legend_handles, labels) if t.endswith(" fs")}
    assert len(colours) == len({t for t in labels if t.endswith(" fs")})
    kinds = {r.failure.kind for r in failed}
    assert {f"end: {FAILURE_MARKERS[k][1]}" for k in kinds} <= set(labels)
    ends = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert len(ends) == len(failed)  # each failing trace's end is marked by its failure kind


def test_scan_title_and_legend() -> None:
    from acquire.scan import legend_name, scan_title

    document = {"formula": "H2O", "symbols": ["O", "H"], "coverage": {}}
    assert "shaded" not in scan_title(document)  # nothing is shaded without --coverage
    assert "shaded" in scan_title({**document, "coverage": {"pool.extxyz": {}}})
    assert legend_name("xtb_gfn2", {"source": "xtb:gfn2", "labeler": True}) == "xtb:gfn2"
    assert legend_name("mine", {"source": "xtb:gfn2", "labeler": True}) == "mine"


def test_error_bars_on_a_log_axis_have_plain_tick_labels() -> None:
    import matplotlib.pyplot as plt

    from acquire.compare.summary import log_axis_plain

    fig, ax = plt.subplots()
    ax.bar([0, 1], [0.3, 4.0])
    log_axis_plain(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("times" not in t and "^" not in t for t in labels)  # was 4×10⁰
    assert {"0.5", "1", "2"} <= set(labels)
    plt.close(fig)


def test_tables_on_a_pipe_are_not_wrapped_at_80_columns(capsys) -> None:
    from rich.table import Table

    from acquire.cli.output import stdout_console

    table = Table()
    for k in range(8):
        table.add_column(f"long column header {k}")
    table.add_row(*[f"value {k}" for k in range(8)])
    stdout_console().print(table)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and max(map(len, lines)) > 150  # one line per row, not each cell wrapped
