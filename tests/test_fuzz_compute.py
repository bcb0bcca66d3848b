"""A bounded, deterministic fuzz of the compute side (issue 13): random small graphs whose
declared shapes and attrs come from hostile pools, run through `acl.reference` and the
simulator in a child process (`fuzz_compute_child.py`) under an address-space limit, with
the host pretending to have 256 MiB available.

Asserts only the contract: `reference` gives Outputs (labelled, with notes unless computed) or
`OMFormatError` / `HostMemoryError` / `ReferenceLimitError`; a simulator run gives Outputs or
ACL's and the runner's documented refusals; no case takes seconds, numpy's traced peak stays
within what the host was said to have, nothing is left loaded. The previous code let numpy's
bare MemoryError, OverflowError and "negative dimensions" ValueError out of 99 of these cases.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SEED = 1313
CASES = 600
HOST_MIB = 256
LIMIT_MIB = 1024
CASE_SECONDS = 2.0


def test_fuzz_hostile_graphs_reference_and_simulator_run():
    child = Path(__file__).parent / "fuzz_compute_child.py"
    done = subprocess.run([sys.executable, str(child), str(LIMIT_MIB), str(HOST_MIB), str(SEED), str(CASES)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    counts = report["counts"]
    assert report["escaped"] == [], report["escaped"][:5]  # (case, what, message): replay with that case
    assert report["slowest"][0] < CASE_SECONDS, report["slowest"]
    assert report["peak"][0] < HOST_MIB << 20, report["peak"]
    assert report["models_left"] == 0
    for outcome in ("reference computed", "reference placeholder", "reference HostMemoryError",
                    "reference ReferenceLimitError", "run computed", "run placeholder"):
        assert counts.get(outcome, 0) >= 5, counts  # every side of the contract was exercised
