"""`launch_lab` as ``acl-notebook lab`` runs it: a real JupyterLab in the foreground that
serves with our config, stops when its launcher is killed, and leaves no temp files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from acl_notebook.lab import free_port


def test_launch_lab_serves_and_cleans_up(tmp_path):
    port = free_port()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), IPYTHONDIR=str(tmp_path / "ipython"))
    env.pop("ACL_NOTEBOOK_UPLOAD_LIMIT", None)
    args = ["--no-browser", "--IdentityProvider.token=t0k", "--LabApp.news_url=None"]
    code = f"from acl_notebook.lab import launch_lab; raise SystemExit(launch_lab(port={port}, extra_args={args!r}))"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token=t0k", timeout=3) as r:
                    status = r.status
                    break
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        assert status == 200, f"JupyterLab did not come up on port {port}"
        assert [p.name for p in scratch.iterdir()][0].startswith("acl-notebook-config-")
        os.kill(proc.pid, signal.SIGTERM)  # the launcher only: it must stop the server itself
        output, _ = proc.communicate(timeout=30)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, output
    assert "websocket limit 1073741824 bytes" in output
    assert f"ssh -N -L {port}:localhost:{port} " in output  # how to reach it from another machine
    assert list(scratch.iterdir()) == []  # the private config dir is gone
