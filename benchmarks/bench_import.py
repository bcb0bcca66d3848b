"""How much `import acl_notebook` and `%load_ext acl_notebook` cost next to `import IPython`.

Each figure is the median of several fresh interpreters (so nothing is cached in
``sys.modules``); inside each one only the step itself is timed, not interpreter start.
The extension must stay cheap because kernels may load it at start-up
(``c.InteractiveShellApp.extensions``): numpy, protobuf, matplotlib and ipywidgets wait
until a magic needs them.

Bytecode is cached in a temporary ``PYTHONPYCACHEPREFIX`` (as after a normal install);
``--no-bytecode`` measures the first import after an edit instead.

    python benchmarks/bench_import.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap

HEAVY = ("numpy", "google.protobuf", "matplotlib", "ipywidgets", "acl_notebook.session")

# Each snippet prints one JSON line: {"seconds": ..., "heavy": [...]}.
_TEMPLATE = textwrap.dedent("""
    import json, sys, time
    {setup}
    t0 = time.perf_counter()
    {step}
    seconds = time.perf_counter() - t0
    print(json.dumps({{"seconds": seconds, "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
""")

STEPS = {
    "import IPython": ("", "import IPython"),
    "import acl_notebook": ("", "import acl_notebook"),
    "import IPython + acl_notebook.magics": ("", "import IPython; import acl_notebook.magics"),
    "%load_ext storemagic (IPython's own)": (
        "from IPython.core.interactiveshell import InteractiveShell; ip = InteractiveShell.instance()",
        "ip.run_line_magic('load_ext', 'storemagic')",
    ),
    "%load_ext acl_notebook": (
        "from IPython.core.interactiveshell import InteractiveShell; ip = InteractiveShell.instance()",
        "ip.run_line_magic('load_ext', 'acl_notebook')",
    ),
}


def run_once(setup: str, step: str, ipythondir: str, pycache: str) -> dict:
    code = _TEMPLATE.format(setup=setup, step=step, heavy=HEAVY)
    env = {"IPYTHONDIR": ipythondir, "PATH": "/usr/bin:/bin"}
    if pycache:
        env["PYTHONPYCACHEPREFIX"] = pycache
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per figure (default 9)")
    parser.add_argument("--no-bytecode", action="store_true", help="compile every module on each import")
    args = parser.parse_args()

    medians: dict[str, float] = {}
    heavy: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        pycache = "" if args.no_bytecode else f"{tmp}/pycache"
        for name, (setup, step) in STEPS.items():
            run_once(setup, step, tmp, pycache)  # fill the bytecode and OS file caches
            results = [run_once(setup, step, tmp, pycache) for _ in range(args.runs)]
            medians[name] = statistics.median(r["seconds"] for r in results)
            heavy[name] = sorted({m for r in results for m in r["heavy"]})

    base = medians["import IPython"]
    cache = "no bytecode cache" if args.no_bytecode else "bytecode cached"
    print(f"median of {args.runs} fresh interpreters, Python {sys.version.split()[0]}, {cache}")
    for name, seconds in medians.items():
        print(f"  {name:<38} {seconds * 1000:7.1f} ms   {seconds / base:5.2f} x import IPython"
              f"   heavy modules: {', '.join(heavy[name]) or 'none'}")
    extra = medians["import IPython + acl_notebook.magics"] - base
    print(f"  extension modules on top of IPython: {extra * 1000:.1f} ms ({extra / base:.2f} x import IPython)")
    ours = medians["%load_ext acl_notebook"] - medians["%load_ext storemagic (IPython's own)"]
    print(f"  %load_ext acl_notebook beyond a trivial extension: {ours * 1000:.1f} ms ({ours / base:.2f} x)")


if __name__ == "__main__":
    main()
