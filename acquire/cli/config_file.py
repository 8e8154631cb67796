"""`--config FILE`: a command's options from a JSON or YAML file.

Keys are the command's long option names (`budget`, `ratio`, `seeds`, `preset`, `ablations`, ...,
with `-` or `_`); lists become comma-separated values. `training` holds training-config fields
merged onto the preset (`train.config.with_overrides`), e.g. `{"rho": 0.02, "pretrain":
{"epochs": 40}}`. A run's own record replays as is: a training run's `run.json` or `metrics.json`
(its whole training config), a comparison run's `config.json`, or a comparison's `metrics.json`
(its `settings`). The file's values become the
options' defaults, so an option given on the command line wins. Bad files and unknown keys are
one-line errors (exit code 2).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from acquire.errors import AcquireError

TRAINING = "training"  # the key (and argparse dest) of training-config overrides
_RUNTIME = ("progress", "command", "methods", "seed_list")  # recorded in a comparison's settings, not options
_RENAMED = {"label_workers": "workers"}  # comparison setting -> option


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` (read by `acquire.cli.main` before parsing) and the `training` dest."""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="options from a JSON or YAML file (keys: long option names, and training: "
                        "training-config fields; or a run's run.json, config.json or metrics.json); "
                        "options on the command line win")
    parser.set_defaults(**{TRAINING: {}})  # {}: no overrides; a parser without it takes none


def config_path(argv: list[str]) -> str | None:
    """The value of `--config` in a command line, if any."""
    for i, word in enumerate(argv):
        if word == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith("--config="):
            return word.split("=", 1)[1]
    return None


def read_config(path: str) -> dict[str, Any]:
    """The mapping in a JSON or YAML file (by suffix; YAML is a superset of JSON)."""
    file = Path(path)
    if not file.is_file():
        raise AcquireError(f"--config: file not found: {path}")
    import yaml

    text = file.read_text()
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise AcquireError(f"--config {path}: not valid {'JSON' if file.suffix.lower() == '.json' else 'YAML'}: "
                           f"{str(error).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise AcquireError(f"--config {path}: expected a mapping of option names to values, got {type(data).__name__}")
    return data


def as_options(data: dict[str, Any]) -> dict[str, Any]:
    """Option values (argparse dests) from a config mapping, a run's config.json or a comparison's
    metrics.json."""
    if isinstance(data.get("settings"), dict) and str(data.get("format", "")).startswith("asteroid-ff/compare"):
        settings = {_RENAMED.get(k, k): v for k, v in data["settings"].items() if k not in _RUNTIME}
        if settings.get("dataset"):  # the data set names its sources
            settings.pop("accurate", None)
        from train.config import gammas_text

        uniform = settings.pop("uniform_candidate", False)
        if settings.get("gammas"):
            settings["gammas"] = gammas_text(settings["gammas"], uniform)
        return {k: v for k, v in settings.items() if v is not None}
    if isinstance(data.get("config"), dict) and "settings" not in data:  # a training run's run.json or metrics.json
        data = data["config"]
    if "model" in data and "standard" in data:  # a training config (a comparison run's config.json)
        return {TRAINING: data, "seed": data.get("seed", 0), "threads": data.get("threads", 1)}
    return {k.replace("-", "_"): v for k, v in data.items()}


def apply_config(parser: argparse.ArgumentParser, path: str) -> None:
    """Make the file's values the parser's defaults: checked against the parser's options, lists
    joined with commas, scalars passed through the option's own type (argparse parses string
    defaults like command-line words)."""
    options = as_options(read_config(path))
    actions = {a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help", "config")}
    training = parser.get_default(TRAINING) is not None
    if "out" in options:  # a replayed record must not write into (or over) the folder it came from
        raise AcquireError(f"--config {path}: out is not read from a file; give --out on the command line")
    unknown = sorted(k for k in options if k not in actions and not (k == TRAINING and training))
    if unknown:
        raise AcquireError(f"--config {path}: unknown option(s) {', '.join(unknown)}; "
                           f"known: {', '.join(sorted(actions) + ([TRAINING] if training else []))}")
    defaults: dict[str, Any] = {}
    for dest, value in options.items():
        if dest == TRAINING:
            if not isinstance(value, dict):
                raise AcquireError(f"--config {path}: training must be a mapping of training-config fields")
            defaults[dest] = value
            continue
        action = actions[dest]
        if action.nargs == 0:  # a switch such as --ablations
            if not isinstance(value, bool):
                raise AcquireError(f"--config {path}: {dest} is a switch: true or false, got {value!r}")
        elif isinstance(action, argparse._AppendAction):  # a repeatable option such as --reuse
            value = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, dict) or value is None:
            raise AcquireError(f"--config {path}: {dest} needs a value such as a number or a word, got {value!r}")
        else:
            value = str(value)  # argparse converts string defaults with the option's type
        if action.choices is not None and value not in action.choices:
            raise AcquireError(f"--config {path}: {dest} must be one of {', '.join(map(str, action.choices))}, got {value!r}")
        action.required = False
        defaults[dest] = value
    parser.set_defaults(**defaults)

