"""``bench export``: one finished cell's student into a self-contained folder
(``distill_bench.execute.export``), loadable with ``distill_bench.load_student``."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from distill_bench.cli.common import console
from distill_bench.cli.report import add_matrix_arguments, planned
from distill_bench.execute.export import FORMATS, check_export_options, export_cell


def _places(args) -> list[str]:
    """The matrix and the directories the user named (the defaults left out)."""
    parts = ["--matrix", args.matrix]
    for flag, value in (("--data-dir", args.data_dir), ("--cache-dir", args.cache_dir)):
        parts += [flag, value] if value else []
    return parts + (["--results-dir", args.results_dir] if args.results_dir != "results" else [])


def made_by(args) -> tuple[str, str]:
    """The ``bench run`` and ``bench export`` command lines of ``args``, for the model card."""
    export = ["bench", "export", *_places(args), "--cell", args.cell, "--out", args.out]
    export += ["--format", args.format] + (["--int8"] if args.int8 else [])
    return shlex.join(["bench", "run", *_places(args)]), shlex.join(export)


def cmd_export(args) -> int:
    check_export_options(Path(args.out), args.format, args.int8, args.force)  # before planning
    exported = export_cell(
        planned(args),
        results_dir=args.results_dir,
        selector=args.cell,
        out=args.out,
        fmt=args.format,
        int8=args.int8,
        force=args.force,
        commands=made_by(args),
    )
    equal, total = exported.agreement
    size = sum(n for _, n in exported.files)
    out = console()
    out.print(
        f"exported {exported.row.student} [{exported.row.loss}, {exported.row.augmenter}, "
        f"seed {exported.row.seed}] to {exported.out} ({len(exported.files)} files, "
        f"{size / 1e6:.2f} MB); its predictions equal the stored evaluation predictions on "
        f"{equal} of {total} examples"
    )
    out.print(f'load it: from distill_bench import load_student; load_student("{exported.out}")')
    return 0


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="ship one finished cell's student: weights, tokenizer, labels, model card"
    )
    add_matrix_arguments(p)
    p.add_argument(
        "--cell",
        required=True,
        metavar="CONDITIONS",
        help="the cell, e.g. 'dataset = sst2 and student = bilstm and loss = kd-soft and "
        "seed = 0' (--where's language plus dataset, teacher, student, loss, augmenter, "
        "seed, teacher_seed); must name one finished cell",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="onnx",
        help="onnx: model.onnx, loads with onnxruntime and tokenizers only (default); "
        "torch: model.safetensors, rebuilt with distill-bench",
    )
    p.add_argument(
        "--int8", action="store_true", help="onnxruntime dynamic int8 quantisation (onnx only)"
    )
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.set_defaults(func=cmd_export)
