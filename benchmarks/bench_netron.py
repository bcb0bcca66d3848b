"""`inspect` against Netron's OM reader, side by side in one run.

Run: ``python benchmarks/bench_netron.py [--rounds 5] [--repeat 20] [--cold 4]`` (two to four
minutes). Needs Node.js (``node`` on PATH, or ``--node``) and Netron's Python package, which
ships Netron's JavaScript: ``pip install netron`` (not a dependency of acl-notebook; without
it the script says so and exits 0).

On Netron's side `netron_om.mjs` imports Netron's own `om.js` from the installed package and
opens the model as the viewer does before drawing it: ``ModelFactory.match`` and ``open`` on a
context over the file's bytes, which reads the header and partitions, decodes the whole
ModelDef protobuf and builds Netron's graph object (nodes, values, attributes). Each run checks
what both sides found: Netron's op count must equal our ``op_count``.

Models: a3c (25 ops), anenet (547 ops) and writer models of 2k and 20k ops with
MODEL_INOUT_INFO. Two figures per model, each a ratio (Netron / acl-notebook, so 10x means
inspect is ten times faster):

* warm: N opens inside one Node process against N ``acl_notebook.inspect(path)`` inside one
  Python process, the first call of each excluded (Netron reads the file once outside the
  timed call; inspect opens the path every time). CPU time (Node's ``process.cpuUsage``
  counts its GC and JIT threads too) and wall time, best of N in each child, then the median
  over rounds;
* cold: a whole ``node netron_om.mjs MODEL`` process against a whole ``acl-notebook inspect
  --json MODEL`` process, CPU time (user + system from ``wait4``), median of all starts.

The two tools alternate round by round (which goes first flips each round), so noise on the
shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_decode import cold, write_writer_model  # the same cold-start measure and writer models

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
HARNESS = Path(__file__).resolve().with_name("netron_om.mjs")
_CLI = "import sys; from acl_notebook.__main__ import main; sys.exit(main(sys.argv[1:]))"

# Runs in a child: argv = checkout, model path, repeats. Prints what inspect found and the times.
_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from acl_notebook import inspect
path, repeat = sys.argv[2], int(sys.argv[3])
info = inspect(path)  # the first call (imports, first parse) is excluded, as on Netron's side
cpu, wall = [], []
for _ in range(repeat):
    c0, w0 = time.process_time(), time.perf_counter()
    inspect(path)
    w1, c1 = time.perf_counter(), time.process_time()
    cpu.append(c1 - c0)
    wall.append(w1 - w0)
print(json.dumps({"ops": info.op_count, "cpu": cpu, "wall": wall}))
"""


def find_netron(given: str | None) -> Path | None:
    """The folder of Netron's JavaScript: --netron, $NETRON_DIR, or the `netron` package here."""
    if given or os.environ.get("NETRON_DIR"):
        folder = Path(given or os.environ["NETRON_DIR"])
    else:
        spec = importlib.util.find_spec("netron")
        if spec is None or spec.origin is None:
            return None
        folder = Path(spec.origin).parent
    return folder if (folder / "om.js").is_file() else None


def write_models(tmp: Path) -> dict[str, Path]:
    """The real models, and bench_decode.py's writer models of 2k and 20k ops."""
    out = {"a3c": MODELS / "a3c_pong_model_v2.om", "anenet": MODELS / "my_122_anenet.om"}
    for ops in (2_000, 20_000):
        out[f"writer {ops // 1000}k ops"] = write_writer_model(ops, tmp)
    return out


def run_json(cmd: list[str], env: dict) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout)


def cold_run(cmd: list[str], env: dict, cwd: Path, out: Path) -> tuple[float, str]:
    """bench_decode.py's `cold` (CPU seconds of one whole process), and what it printed."""
    return cold(cmd, env, cwd, out), out.read_text()


def ms(x: float) -> str:
    return f"{x * 1e3:.3f} ms" if x < 0.01 else f"{x * 1e3:.1f} ms"


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--repeat", type=int, default=20, help="timed opens per warm child (default 20; "
                                                               "a quarter for 20k ops)")
    parser.add_argument("--cold", type=int, default=4, help="cold starts per tool per round (default 4)")
    parser.add_argument("--node", default=os.environ.get("NODE", "node"), help="Node.js executable (default node)")
    parser.add_argument("--netron", help="folder of Netron's om.js (default: $NETRON_DIR or the installed package)")
    args = parser.parse_args(argv)

    node = shutil.which(args.node)
    netron = find_netron(args.netron)
    if node is None or netron is None:
        missing = (f"Node.js (`{args.node}`) is not on PATH" if node is None else
                   f"no Netron om.js in {args.netron or os.environ['NETRON_DIR']}"
                   if args.netron or os.environ.get("NETRON_DIR") else "Netron's package is not installed")
        print(f"bench_netron: skipped: {missing}. It needs Node.js and `{Path(sys.executable).name} -m pip install "
              "netron` (Netron's JavaScript ships in that package; it is not a dependency of acl-notebook), "
              "or --netron DIR / NETRON_DIR pointing at a folder holding Netron's om.js.")
        return 0
    env_node = dict(os.environ, NETRON_DIR=str(netron))
    env_py = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout, whatever is installed
    script = Path(sys.executable).with_name("acl-notebook")  # the console script a user runs
    cli = [str(script)] if script.is_file() else [sys.executable, "-c", _CLI]
    # Byte-compiled, as installed code is (PYTHONDONTWRITEBYTECODE may be set).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "acl_notebook")], check=True,
                   stdout=subprocess.DEVNULL)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = write_models(tmp)
        time.sleep(2.6)  # a file written in the last 2.5 s has not settled: measure one already on disk
        warm: dict[tuple[str, str], list[dict]] = {}
        colds: dict[tuple[str, str], list[float]] = {}
        found: dict[tuple[str, str], int] = {}

        def measure(tool: str, label: str, path: Path) -> None:
            repeat = max(5, args.repeat // 4) if "20k" in label else args.repeat
            if tool == "netron":
                res = run_json([node, str(HARNESS), "--repeat", str(repeat), str(path)], env_node)
            else:
                res = run_json([sys.executable, "-c", _CHILD, str(ROOT), str(path), str(repeat)], env_py)
            warm.setdefault((label, tool), []).append(res)
            found[label, tool] = res["ops"]

        def start(tool: str, label: str, path: Path) -> None:
            if tool == "netron":
                cpu, text = cold_run([node, str(HARNESS), str(path)], env_node, tmp, tmp / "out.json")
                ops = json.loads(text)["ops"]
            else:
                cpu, text = cold_run([*cli, "inspect", "--json", str(path)], env_py, tmp, tmp / "out.json")
                ops = json.loads(text)["op_count"]
            if ops != found[label, tool]:
                raise RuntimeError(f"{tool} found {ops} ops in {path} cold, {found[label, tool]} warm")
            colds.setdefault((label, tool), []).append(cpu)

        bare = {"node": [node, "-e", ""], "python": [sys.executable, "-c", ""]}  # what starting alone costs
        for rnd in range(args.rounds):
            order = ("netron", "acl") if rnd % 2 == 0 else ("acl", "netron")
            for _ in range(args.cold):
                for name in (("node", "python") if rnd % 2 == 0 else ("python", "node")):
                    colds.setdefault(("bare", name), []).append(cold(bare[name], env_py, tmp, tmp / "out.json"))
            for label, path in models.items():
                for tool in order:
                    measure(tool, label, path)
                if found[label, "netron"] != found[label, "acl"]:
                    raise RuntimeError(f"{label}: Netron decoded {found[label, 'netron']} ops, "
                                       f"inspect says op_count={found[label, 'acl']}")
                for _ in range(args.cold):
                    for tool in order:
                        start(tool, label, path)

    def warm_fig(label: str, tool: str, key: str, pick) -> float:
        return statistics.median(pick(res[key]) for res in warm[label, tool])

    rows = [("model", "ops (Netron nodes)", "warm CPU best: Netron / inspect", "warm CPU median",
             "warm wall best", "cold CPU: Netron / `inspect --json`")]
    for label in models:
        nodes = warm[label, "netron"][0]["nodes"]
        cells = [label, f"{found[label, 'acl']} ({nodes})"]
        for key, pick in (("cpu", min), ("cpu", statistics.median), ("wall", min)):
            n, a = warm_fig(label, "netron", key, pick), warm_fig(label, "acl", key, pick)
            cells.append(f"{n / a:.1f}x ({ms(n)} / {ms(a)})")
        n, a = statistics.median(colds[label, "netron"]), statistics.median(colds[label, "acl"])
        cells.append(f"{n / a:.2f}x ({ms(n)} / {ms(a)})")
        rows.append(tuple(cells))
    print(table(rows))
    print(f"\nbare starts (CPU, median): `node -e ''` {ms(statistics.median(colds['bare', 'node']))}, "
          f"`python -c ''` {ms(statistics.median(colds['bare', 'python']))}")
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        from importlib.metadata import version

        netron_version = version("netron")
    except Exception:  # a bare folder of Netron's JavaScript has no package metadata
        netron_version = "unknown version"
    print(f"Netron {netron_version} ({netron}) on Node {node_version}; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs; {args.rounds} rounds, warm best of {args.repeat} per child, "
          f"{args.rounds * args.cold} cold starts per tool; cold acl-notebook: {' '.join(cli)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
