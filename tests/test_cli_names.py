"""One way to name what a command reads (positional, as `acquire md MODEL`), older spellings kept;
help that says which molecule files are read."""
from __future__ import annotations

import json

import pytest

from acquire.cli.main import build_parser, main


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "l.db"
    assert main(["label", "md17:ethanol/dft", "--labeler", "md17:ethanol/dft", "--n", "3", "--store", str(path), "--quiet"]) == 0
    return path


def test_status_and_export_take_the_store_positionally_or_as_before(store, tmp_path, capsys) -> None:
    capsys.readouterr()
    for args in ([str(store)], ["--store", str(store)]):
        assert main(["status", *args, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["labelers"][0]["done"] == 3
        out = tmp_path / "x.extxyz"
        assert main(["export", *args, "--labeler", "md17:ethanol/dft", "--out", str(out), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["frames"] == 3
    assert main(["status", "--json"]) == 2 and "name one label store" in capsys.readouterr().err


def test_molecule_help_names_sdf_and_mol() -> None:
    commands = build_parser().get_default("_commands")
    for name in ("sample", "run", "md", "scan", "calibrate", "plan"):
        action = next(a for a in commands[name]._actions if "--molecule" in a.option_strings)
        assert ".sdf" in action.help and ".mol" in action.help, name
