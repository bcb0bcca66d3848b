"""What a program may ask before acl.init: the run mode (aclrtGetRunModeImpl has no init
check; it only asks the runtime). acllite's image module reads it when it is imported and
chooses its copy kinds by it, so a wrong answer there turns into wrong copy kinds later."""

from __future__ import annotations

import pytest
from pyacl_helpers import run_program

from acl_notebook import pyacl
from acl_notebook.pyacl.core import PROGRAM


@pytest.mark.parametrize("soc, mode", [("Ascend910B1", 1), ("Ascend310B4", 0)])
def test_run_mode_before_init(rig, soc, mode):
    session = rig.session(soc=soc)
    assert pyacl.install(force=True, session=session).installed
    import acl

    try:
        assert acl.rt.get_run_mode() == (mode, 0)  # no acl.init yet
        assert acl.rt.set_device(0) == 100001  # what does need it still says so
        assert acl.init() == 0
        assert acl.rt.get_run_mode() == (mode, 0)
    finally:
        pyacl.uninstall()
        PROGRAM.bind(None)


def test_a_library_that_reads_the_mode_at_import():
    r = run_program("mode_at_import.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["at import: 1 0", "after init: 1 0", "staged: True"]
