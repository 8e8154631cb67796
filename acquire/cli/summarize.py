"""`acquire summarize`: one table (and plots) across several finished comparison folders."""
from __future__ import annotations

import argparse
from pathlib import Path

from acquire.cli.output import add_output_arguments, print_json

HELP = "one table and plots across finished compare folders (other cheap fidelities, selections or budgets)"
EXAMPLES = """examples:
  acquire summarize DFT=runs/dft xTB=runs/xtb GAFF=runs/gaff --out fidelity/
  acquire summarize random=runs/random diverse=runs/diverse uncertain=runs/uncertain --out selection/
  acquire summarize runs/dft runs/xtb --json

Reads each folder's metrics.json; trains nothing. Test force MAE in kcal/mol/Å, energy MAE in
kcal/mol, mean ± std over seeds; the gain against standard training is taken seed by seed within
a folder. With --out: summary.md, summary.json, error_by_comparison.png and, where a comparison
spans several budgets, error_vs_budget.png."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folders", nargs="+", metavar="NAME=DIR",
                        help="a name for a comparison and its acquire compare folder (a bare DIR is named by its folder)")
    parser.add_argument("--out", default=None, metavar="DIR", help="write summary.md, summary.json and plots here")
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from acquire.compare.report import write_json
    from acquire.compare.summary import markdown, mixed_test_sets, parse_named, plot_summary, summarize
    from acquire.folders import output_folder
    from labelers.atomic_files import atomic_write_text

    if args.out is not None:
        output_folder(args.out, "summarize", create=False)  # a file there is refused before any work
    rows = summarize(parse_named(args.folders))
    table = markdown(rows)
    warning = ("note: rows of one budget were scored on test sets of different sizes; their errors are "
               "not directly comparable" if mixed_test_sets(rows) else "")
    written: list[str] = []
    if args.out is not None:
        out = Path(args.out)
        written = plot_summary(rows, out)
        text = "# Comparisons side by side\n\n" + table + "\n" + (f"\n{warning}\n" if warning else "")
        text += "".join(f"\n![{name}]({name})\n" for name in written)
        atomic_write_text(out / "summary.md", text)
        write_json({"rows": [r.as_dict() for r in rows], "plots": written, "warning": warning or None}, out / "summary.json")
        written = ["summary.md", "summary.json", *written]
    if args.json:
        print_json({"rows": [r.as_dict() for r in rows], "written": written, "warning": warning or None})
    elif not args.quiet:
        print(table)
        if warning:
            print(warning)
        if written:
            print(f"wrote {', '.join(written)} to {args.out}")
    return 0
