"""Parse the `HEAD;key=value;key=value` tail shared by labeler specs (after `BACKEND:`).

Options are lower-cased, typed by the caller's declared table, and printed back in a canonical
order, so two spellings of the same settings give the same spec string (and the same store rows).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from labelers.errors import SpecError

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_bool(text: str) -> bool:
    """'true'/'false' (and yes/no, 1/0, on/off) -> bool; raises ValueError."""
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"{text!r} is not true/false")


def format_value(value: Any) -> str:
    """A canonical text form of an option value (bools lower-case, floats in short form)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def split_options(
    text: str, types: Mapping[str, Callable[[str], Any]], *, backend: str
) -> tuple[str, dict[str, Any]]:
    """`'CCSD(T)/cc-pVDZ;forces=false'` -> `('ccsd(t)/cc-pvdz', {'forces': False})`.

    `types` maps each known option name to a parser of its text value; an unknown option or an
    unparsable value raises SpecError naming the known options.
    """
    head, *parts = [p.strip() for p in text.strip().split(";")]
    if not head:
        raise SpecError(f"{backend} spec {text!r} names no method before its options")
    options: dict[str, Any] = {}
    for part in parts:
        if not part:
            continue
        if "=" not in part:
            raise SpecError(f"{backend} option {part!r} must look like key=value")
        key, value = (s.strip().lower() for s in part.split("=", 1))
        key = key.replace("-", "_")
        if key not in types:
            raise SpecError(
                f"unknown {backend} option {key!r} in {text!r}; known: {', '.join(sorted(types))}"
            )
        try:
            options[key] = types[key](value)
        except ValueError as exc:
            raise SpecError(f"{backend} option {key}={value!r}: {exc}") from None
    return head.lower(), options


def join_options(head: str, options: dict[str, Any], defaults: dict[str, Any]) -> str:
    """Canonical `head;k=v;...`: options sorted by name, those equal to their default left out."""
    kept = [
        f"{k}={format_value(v)}" for k, v in sorted(options.items())
        if v is not None and defaults.get(k, object()) != v
    ]
    return ";".join([head, *kept])
