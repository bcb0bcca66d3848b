"""``python -m acl_notebook.pyacl SCRIPT [ARGS...]``: run a pyACL program as ``python SCRIPT ARGS`` would.

The script sees what Python gives a script: ``sys.argv == [SCRIPT, *ARGS]``, ``sys.path[0]``
its own folder, ``__name__ == "__main__"``, and its exit status is the process's (an
uncaught exception prints the traceback from the script's frames and exits 1, as Python
does). The one difference is that ``import acl`` gives acl-notebook's pyACL image (unless
CANN's own ``acl`` is installed and ``--force`` is not given). The backend follows
``ACL_NOTEBOOK_BACKEND`` like everything else in acl-notebook.

When the program ends with models still loaded or device memory still allocated, with
threads from ``acl.util.start_thread`` still running, or with handles it never destroyed
(tensor descs, datasets and the descs their entries hold, data buffers, model descs, config
handles), a line on stderr says so
(``--no-leak-report`` turns it off): on a real NPU that memory stays taken until the
process exits, which is exactly the bug a notebook would hide.

The end follows the interpreter's order, as on a device where ACL stays up until the process
ends: the program's own atexit handlers run, then its module goes (its objects' ``__del__``
still unload and free, as wrapper classes do), then the leak report says what is left, and
only then does acl-notebook's runtime shut down.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
import traceback
import weakref
from typing import Any, Optional, Sequence

PROG = "python -m acl_notebook.pyacl"


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a pyACL program (import acl) unchanged on acl-notebook's runtime: the simulator "
                    "when there is no NPU, or the real device through ctypes (ACL_NOTEBOOK_BACKEND=acl).",
    )
    parser.add_argument("--force", action="store_true",
                        help="use acl-notebook's acl module even where CANN's own pyACL is installed")
    parser.add_argument("--no-leak-report", action="store_true",
                        help="say nothing when the program leaves models or device memory behind")
    parser.add_argument("script", help="the program, as you would pass it to python")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    return parser.parse_args(list(argv))


def main(argv: Optional[Sequence[str]] = None) -> int:
    opts = parse(sys.argv[1:] if argv is None else argv)
    path = os.path.abspath(opts.script)
    if not os.path.isfile(path):
        why = ("is a directory; give the path of the script inside it" if os.path.isdir(path)
               else "not a regular file" if os.path.exists(path) else "no such file")
        print(f"{PROG}: can't open file {path!r}: {why}", file=sys.stderr)
        return 2
    from . import install

    status = install(force=opts.force)
    if not status.installed:
        print(f"{PROG}: {status.message}", file=sys.stderr)
    if status.installed:
        # Registered before the program runs, so it runs after the program's own handlers.
        from .core import PROGRAM

        session = PROGRAM.session
        session.shutdown_at_exit(False)
        atexit.register(_after_program, session, path, not opts.no_leak_report)
    sys.argv = [opts.script, *opts.args]
    sys.path[0] = os.path.dirname(path)
    try:
        _run_as_main(path)
    except SystemExit:
        raise
    except BaseException as exc:
        _print_from_script(exc, path)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _after_program(session: Any, path: str, report: bool) -> None:
    """At exit, after the program's atexit handlers: drop the script's module as the
    interpreter would (what only it holds is collected, each ``__del__`` reaching ACL while the
    runtime is up), report what is left, then shut the runtime down. When something still
    holds the script's namespace (an atexit callback or a thread of its functions), its objects
    go only in the interpreter's own teardown: the runtime is left up for them, as ACL is on a
    device until the process ends."""
    import types

    gone = True
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) == path:
        marker = _Marker()
        vars(main)["__acl_notebook_exit__"] = marker
        namespace = weakref.ref(marker)
        del marker
        sys.modules["__main__"] = types.ModuleType("__main__")
        del main
        gc.collect()
        gone = namespace() is None
    try:
        if report:
            _report_leaks()
    finally:
        if gone:
            session.shutdown()


class _Marker:
    """Put in the script's namespace at exit: it dies exactly when the namespace does."""


def _run_as_main(path: str) -> None:
    """Execute the file as the ``__main__`` module, the way the interpreter runs a script
    (``__file__`` absolute, ``sys.argv[0]`` as given, the module left in place at exit)."""
    import builtins
    import importlib.machinery
    import io
    import types

    with io.open_code(path) as f:
        code = compile(f.read(), path, "exec")
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = builtins
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    main.__spec__ = None
    main.__cached__ = None
    sys.modules["__main__"] = main
    exec(code, main.__dict__)


def _print_from_script(exc: BaseException, path: str) -> None:
    """The traceback as ``python SCRIPT`` prints it: starting at the script's own frame."""
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != path:
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb if tb is not None else exc.__traceback__)


def _report_leaks() -> None:
    from ..units import human_bytes
    from .core import PROGRAM
    from .threads import running

    threads = running()
    if threads:
        print(f"acl-notebook: the program ended with {len(threads)} thread(s) from acl.util.start_thread "
              "still running (acl.util.stop_thread joins one)", file=sys.stderr)
    session = PROGRAM._session
    if session is None or not session.started:
        return
    handles = _undestroyed(PROGRAM)
    if handles:
        parts, calls = zip(*handles)
        print(f"acl-notebook: the program ended with {_and(parts)} not destroyed; each holds host memory until "
              f"the process exits ({', '.join(calls)} free them)", file=sys.stderr)
    bridge = session.programs()
    models = bridge.models()
    allocs = [a for a in bridge.allocations() if a.charge]
    if not models and not allocs:
        return
    parts = []
    if models:
        names = ", ".join(f"{m.name} (id {m.id})" for m in models)
        parts.append(f"{len(models)} model(s) loaded: {names}")
    if allocs:
        parts.append(f"{len(allocs)} device allocation(s) not freed ({human_bytes(sum(a.charge for a in allocs))})")
    print(f"acl-notebook: the program ended with {' and '.join(parts)}; on an NPU that memory stays "
          "taken until the process exits (acl.mdl.unload / acl.rt.free release it)", file=sys.stderr)


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _undestroyed(program: Any) -> list[tuple[str, str]]:
    """(what, the call that frees it) for each kind of host handle the program created and never
    destroyed: tensor descs, datasets (with the descs their entries hold, which the dataset
    frees), data buffers, model descs and config handles, counted from its ledger."""
    ledger = program.ledger
    with ledger.lock:
        descs = sum(1 for owner in ledger.tensor_descs.values() if owner is None)
        datasets = sorted(ledger.datasets)
        buffers, model_descs, configs = len(ledger.buffers), len(ledger.descs), len(ledger.configs)
    held = 0
    for ds in datasets:  # entry descs: set by set_dataset_tensor_desc or given to outputs by a run
        n = program.get("aclmdlGetDatasetNumBuffers", 0, "dataset_num_buffers", ds)
        held += sum(1 for i in range(n) if program.get("aclmdlGetDatasetTensorDesc", 0, "dataset_tensor_desc", ds, i))
    found = []
    if descs:
        found.append((f"{descs} tensor desc(s)", "acl.destroy_tensor_desc"))
    if datasets:
        inside = f" (holding {held} tensor desc(s) of their entries)" if held else ""
        found.append((f"{len(datasets)} dataset(s){inside}", "acl.mdl.destroy_dataset"))
    if buffers:
        found.append((f"{buffers} data buffer(s)", "acl.destroy_data_buffer"))
    if model_descs:
        found.append((f"{model_descs} model desc(s)", "acl.mdl.destroy_desc"))
    if configs:
        found.append((f"{configs} config handle(s)", "acl.mdl.destroy_config_handle"))
    return found


__all__ = ["main", "parse"]
