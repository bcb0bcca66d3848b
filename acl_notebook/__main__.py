"""Command line: ``acl-notebook inspect MODEL.om... [--json]``, ``demo-model [--kind digits] OUT.om``, ``lab``,
``voila``.

Each subcommand is one entry in `COMMANDS` (a name, a function adding its arguments, a
function running it), so new ones slot in without touching `main`. Problems the user can
fix (missing file, not an OM, bad option) end with exit status 2 and one line on stderr.
"""

from __future__ import annotations

import json
import os
import sys

from .hostbuf import HostMemoryError
from .om.errors import OMFormatError

TYPE_CHECKING = False  # typing is for type checkers only: importing it would cost every cold start
if TYPE_CHECKING:
    import argparse
    from typing import Callable, Optional, Sequence

    Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

PROG = "acl-notebook"


def _add_inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="+", help="path of an .om file (several may be given)")
    p.add_argument("--json", action="store_true",
                   help="print ModelInfo.to_dict() as JSON: one object, or for several files a list "
                        "whose objects also carry their 'path'")


def _run_inspect(args: argparse.Namespace) -> int:
    """Each file in turn; one that cannot be read is reported and the others still shown.
    (display is imported only to print text or an error: a cold `--json` stays cheap.)"""
    from .om.reader import inspect

    found, status = [], 0
    for path in args.model:
        try:
            info = inspect(path)
        except (OMFormatError, OSError, ValueError, HostMemoryError) as exc:
            from .display import error_line

            print(f"{PROG}: error: {error_line(exc)}", file=sys.stderr)
            status = 2
            continue
        found.append((path, info))
    if args.json:
        if len(args.model) == 1 and found:  # one file: ModelInfo.to_dict() as it is
            print(json.dumps(found[0][1].to_dict(), indent=2))
        elif len(args.model) > 1:  # several: a list, each object saying which file it is
            print(json.dumps([{"path": path, **info.to_dict()} for path, info in found], indent=2))
    elif found:
        from .display import render_text

        several = len(args.model) > 1
        print("\n\n".join((f"== {path}\n" if several else "") + render_text(info) for path, info in found))
    return status


def _add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", help="where to write the .om file")
    p.add_argument("--kind", choices=("resnet50", "digits"), default="resnet50",
                   help="resnet50: ResNet-50-sized I/O and zero weights (default); digits: a small CNN "
                        "trained now on generated digits, whose answers are real")
    p.add_argument("--size-mb", type=float, default=None, metavar="N",
                   help="resnet50 only: MiB of (zero) weights, the bulk of the file (default: 49, like ResNet-50 fp16)")
    p.add_argument("--gears", default=None, metavar="B,B,...",
                   help="digits only: batch gears (default: 1,4,8); 'none' for a static batch-1 model")
    p.add_argument("--name", default=None, help="model name (default: resnet50_demo / digits_cnn)")
    p.add_argument("--soc", default="Ascend310P3", help="soc_version recorded in the model")


def _run_demo(args: argparse.Namespace) -> int:
    if args.kind == "digits":
        return _run_digits(args)
    if args.gears is not None:
        raise ValueError("--gears applies to --kind digits; the resnet50 demo has gears 1/2/4/8")
    from .om.writer import demo_spec, write_om_file

    name = args.name or "resnet50_demo"
    size_mb = 49.0 if args.size_mb is None else args.size_mb
    size = write_om_file(demo_spec(size_mb, name=name, soc_version=args.soc), args.out)
    print(f"wrote {args.out} ({size:,} bytes): {name}, dynamic batch 1/2/4/8, for {args.soc}")
    return 0


def _run_digits(args: argparse.Namespace) -> int:
    if args.size_mb is not None:
        raise ValueError("--size-mb applies to --kind resnet50; the digits model's size follows from its weights")
    gears: tuple[int, ...] = ()
    if args.gears is None:
        from .demo.digits import DEFAULT_GEARS

        gears = DEFAULT_GEARS
    elif args.gears.strip().lower() not in ("none", ""):
        try:
            gears = tuple(int(g) for g in args.gears.split(","))
        except ValueError:
            raise ValueError(f"--gears takes batch sizes like 1,4,8 (or none), not {args.gears!r}") from None
    from pathlib import Path

    from .demo.digits import NAME, build

    model = build(gears=gears, soc=args.soc, name=args.name or NAME)
    Path(args.out).write_bytes(model.om)
    run = model.trained
    shape = "batch gears " + "/".join(map(str, gears)) if gears else "static batch 1"
    print(f"trained in {run.seconds:.1f} s; held-back accuracy {model.accuracy:.1%} on {len(model.labels)} samples")
    print(f"wrote {args.out} ({len(model.om):,} bytes): {model.name}, {shape}, for {args.soc}")
    return 0


def _default_notebook(name: str) -> Optional[str]:
    """The repo's notebook when run from a checkout (the README's demo command)."""
    from pathlib import Path

    for base in (Path.cwd(), Path(__file__).resolve().parents[1]):
        candidate = base / "notebooks" / name
        if candidate.is_file():
            return str(candidate)
    return None


def _add_server(default: str) -> Callable[[argparse.ArgumentParser], None]:
    def add(p: argparse.ArgumentParser) -> None:
        import argparse

        p.add_argument("notebook", nargs="?", help=f"notebook to open (default: notebooks/{default} when present)")
        p.add_argument("--port", type=int, default=None, help="port to listen on (default: a free one)")
        p.add_argument("extra", nargs=argparse.REMAINDER, help="further options passed to the server after --")

    return add


def _run_server(default: str, voila: bool) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from .lab import launch_lab

        notebook, extra = args.notebook, [a for a in args.extra if a != "--"]
        if notebook is not None and notebook.startswith("-"):  # `lab -- --opt`: no notebook given
            notebook, extra = None, [notebook, *extra]
        return launch_lab(notebook or _default_notebook(default), port=args.port, extra_args=extra, voila=voila)

    return run


COMMANDS: list[Command] = [
    ("inspect", "show an offline model's header, I/O descriptors, gears and memory needs",
     _add_inspect, _run_inspect),
    ("demo-model", "write a realistic demo .om (no NPU needed to inspect or simulate it)",
     _add_demo, _run_demo),
    ("lab", "start JupyterLab with uploads up to 1 GiB, opening the quick start (simulator when no NPU)",
     _add_server("01-quickstart.ipynb"), _run_server("01-quickstart.ipynb", voila=False)),
    ("voila", "serve the panel notebook as a demo page with Voila",
     _add_server("panel.ipynb"), _run_server("panel.ipynb", voila=True)),
]


def _formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter with the terminal width found here: left to itself it imports
    shutil (and with it bz2, lzma, zlib) for that, on every start, help or not."""
    import argparse

    try:
        width = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (ValueError, OSError, AttributeError):
        width = 80
    return argparse.HelpFormatter(prog, width=max(width - 2, 40))


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(prog=PROG, description="Ascend offline models in Jupyter, from a shell.",
                                     formatter_class=_formatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog=PROG)  # prog: no formatter needed
    for name, help_text, add_arguments, run in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_formatter)
        add_arguments(p)
        p.set_defaults(run=run)
    return parser


class _Args:
    """What argparse would have made of a plain ``inspect [--json] MODEL``."""

    def __init__(self, model: str, as_json: bool) -> None:
        self.command, self.model, self.json, self.run = "inspect", [model], as_json, _run_inspect


def _plain_inspect(argv: list) -> Optional[_Args]:
    """``inspect MODEL`` with or without ``--json`` (either order), read without argparse,
    whose import and parser cost a cold start more than the inspect; None for anything else
    (options, help, another command), which argparse handles as always."""
    if not argv or argv[0] != "inspect" or len(argv) > 3:
        return None
    rest = argv[1:]
    as_json = "--json" in rest
    if as_json:
        rest.remove("--json")
    if len(rest) != 1 or not isinstance(rest[0], str) or rest[0].startswith("-"):
        return None
    return _Args(rest[0], as_json)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status instead of exiting (handy in tests)."""
    args = _plain_inspect(sys.argv[1:] if argv is None else list(argv))
    if args is None:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
            return exc.code if isinstance(exc.code, int) else 2
        if getattr(args, "run", None) is None:
            parser.print_help(sys.stderr)
            return 2
    try:
        return args.run(args)
    except (OMFormatError, OSError, ValueError, HostMemoryError) as exc:
        from .display import error_line

        print(f"{PROG}: error: {error_line(exc)}", file=sys.stderr)  # always one line
        return 2


if __name__ == "__main__":
    sys.exit(main())
