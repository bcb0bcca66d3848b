"""Start JupyterLab or Voila with a websocket limit that lets big models be uploaded.

Why this exists: the upload widget sends a whole file to the kernel in ONE websocket
message, and tornado drops any message over 10 MiB by closing the socket. Nothing tells
the user: the file simply never arrives. The limit is a tornado *application setting*
(``websocket_max_message_size``) that can only be given through a config file
(``--ServerApp.tornado_settings=...`` on the command line is rejected as "not a dict").

So the launcher writes ``jupyter_server_config.py`` (JupyterLab, and Voila run as a server
extension) and ``voila.py`` (stand-alone Voila) into a private directory, puts that
directory on ``JUPYTER_CONFIG_PATH`` and exports ``ACL_NOTEBOOK_UPLOAD_LIMIT`` so kernels
started by that server know (and the panel can say) which limit is in force.

Stdlib only: the panel imports `upload_limit_in_force` from here inside the kernel.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Callable, Mapping, Optional, Sequence, Union

from .units import parse_size as _parse_size

#: Environment variable carrying the websocket limit (bytes) to kernels and the panel.
UPLOAD_LIMIT_ENV = "ACL_NOTEBOOK_UPLOAD_LIMIT"
#: What `acl-notebook lab` configures unless the environment asks for another value.
DEFAULT_WEBSOCKET_LIMIT = 1 << 30  # 1 GiB
#: tornado's own default (``_default_max_message_size``), which jupyter_server keeps.
JUPYTER_DEFAULT_LIMIT = 10 << 20  # 10 MiB
#: The tornado application settings we add.
SERVER_SETTINGS = {"websocket_max_message_size": DEFAULT_WEBSOCKET_LIMIT}

_MARKER = "# written by acl_notebook.lab"

PathLike = Union[str, "os.PathLike[str]"]


def parse_size(text: str) -> int:
    """Bytes from ``"1073741824"``, ``"512M"`` or ``"1GiB"``; errors name the variable."""
    try:
        return _parse_size(text)
    except ValueError:
        raise ValueError(
            f"{UPLOAD_LIMIT_ENV} must be a byte count such as 1073741824, 512M or 1GiB; got {text!r}"
        ) from None


def websocket_limit(env: Optional[Mapping[str, str]] = None) -> int:
    """The limit the launcher will configure: ``$ACL_NOTEBOOK_UPLOAD_LIMIT`` if set, else 1 GiB.

    Raises ValueError (naming the variable) when the variable is set to nonsense, because a
    launcher that silently fell back would bring back the silent-drop problem.
    """
    env = os.environ if env is None else env
    raw = env.get(UPLOAD_LIMIT_ENV, "").strip()
    return parse_size(raw) if raw else DEFAULT_WEBSOCKET_LIMIT


def upload_limit_in_force(env: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """The websocket limit the server of this kernel was started with, or None if unknown.

    None means the kernel was not started by `acl-notebook lab`/`voila` (or the variable is
    unreadable), so Jupyter's 10 MiB default must be assumed.
    """
    env = os.environ if env is None else env
    raw = env.get(UPLOAD_LIMIT_ENV, "").strip()
    if not raw:
        return None
    try:
        return parse_size(raw)
    except ValueError:
        return None


def write_server_config(directory: PathLike, limit: Optional[int] = None, *, overwrite: bool = False) -> Path:
    """Write ``jupyter_server_config.py`` and ``voila.py`` raising the websocket limit.

    Returns the path of ``jupyter_server_config.py``. A file of the same name that we did
    not write is left alone (FileExistsError) unless `overwrite` is true, so pointing this
    at ``~/.jupyter`` cannot clobber someone's own configuration.
    """
    limit = websocket_limit() if limit is None else int(limit)
    if limit <= 0:
        raise ValueError(f"limit must be a positive byte count, got {limit}")
    folder = Path(directory).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    settings = dict(SERVER_SETTINGS, websocket_max_message_size=limit)
    files = {
        "jupyter_server_config.py": f"c.ServerApp.tornado_settings = {settings!r}\n",
        # stand-alone `voila` builds its own tornado app and reads voila.(py|json) instead
        "voila.py": f"c.Voila.tornado_settings = {settings!r}\n",
    }
    for name in files:
        path = folder / name
        if path.exists() and not overwrite and _MARKER not in path.read_text(errors="replace"):
            raise FileExistsError(
                f"{path} exists and was not written by acl-notebook; add "
                f"c.ServerApp.tornado_settings = {settings!r} to it yourself, or pass overwrite=True"
            )
    header = (
        f"{_MARKER}: lets the upload widget send models up to {limit} bytes\n"
        "# (tornado closes the websocket on any bigger message; the default is 10 MiB).\n"
    )
    for name, body in files.items():
        (folder / name).write_text(header + body)
    return folder / "jupyter_server_config.py"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (pass it with ``port_retries=0``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def server_command(
    notebook: Optional[PathLike] = None,
    *,
    port: Optional[int] = None,
    voila: bool = False,
    token: Optional[str] = None,
    root_dir: Optional[PathLike] = None,
    ip: Optional[str] = None,
    open_browser: bool = True,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The argv that starts JupyterLab (or stand-alone Voila) with this interpreter."""
    args: list[str]
    if voila:
        args = [sys.executable, "-m", "voila"]
        if notebook is not None:
            args.append(str(notebook))
        if port is not None:
            args.append(f"--port={port}")
        if ip:
            args.append(f"--Voila.ip={ip}")
        if not open_browser:
            args.append("--no-browser")
        if root_dir is not None:
            args.append(f"--Voila.root_dir={root_dir}")
        if token is not None:
            args.append(f"--token={token}")
    else:
        args = [sys.executable, "-m", "jupyter", "lab"]
        if notebook is not None:
            args.append(str(notebook))
        if port is not None:
            args += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
        if ip:
            args.append(f"--ServerApp.ip={ip}")
        if not open_browser:
            args.append("--no-browser")
        if root_dir is not None:
            args.append(f"--ServerApp.root_dir={root_dir}")
        if token is not None:
            args.append(f"--IdentityProvider.token={token}")
        if _is_root():
            args.append("--allow-root")
    return args + list(extra_args)


def server_env(config_dir: PathLike, limit: int, base: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Environment for the server: our config dir searched first, the limit exported."""
    env = dict(os.environ if base is None else base)
    previous = env.get("JUPYTER_CONFIG_PATH")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(config_dir), previous) if p)
    env[UPLOAD_LIMIT_ENV] = str(limit)
    return env


class ServerProcess:
    """A JupyterLab or Voila server started in its own process group.

    Used by the browser tests and by anything that must start a server and talk to it;
    `stop()` kills the whole group so no kernel outlives it.
    """

    def __init__(
        self,
        process: subprocess.Popen,
        *,
        port: int,
        token: str,
        voila: bool,
        temp_dirs: Sequence[Path],
        log_path: Optional[Path],
    ) -> None:
        self.process = process
        self.port = port
        self.token = token
        self.voila = voila
        self.log_path = log_path
        self._temp_dirs = list(temp_dirs)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        """Absolute URL of `path` with the token attached (when there is one)."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        if self.token:
            url += ("&" if "?" in url else "?") + f"token={self.token}"
        return url

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the server answers HTTP; raise RuntimeError with its log if it died or hung."""
        probe = self.url("api/status") if not self.voila else self.url("")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"server exited with code {code} before it was ready:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(probe, timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"server not ready after {timeout:.0f} s at {probe}:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log captured)"
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it if it lingers, remove the temp dirs."""
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(timeout)
        # kernels live in the same group; make sure none is left behind
        _signal_group(self.process, signal.SIGKILL)
        for folder in self._temp_dirs:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_server(
    notebook: Optional[PathLike] = None,
    *,
    port: Optional[int] = None,
    voila: bool = False,
    root_dir: Optional[PathLike] = None,
    token: Optional[str] = None,
    limit: Optional[int] = None,
    isolated: bool = False,
    extra_args: Sequence[str] = (),
    log_path: Optional[PathLike] = None,
    env: Optional[Mapping[str, str]] = None,
) -> ServerProcess:
    """Start a headless server on 127.0.0.1 in the background and return its handle.

    `isolated` gives the server (and its kernels) private, temporary Jupyter config,
    runtime, IPython and workspace directories, as tests need; the user's own
    configuration is then ignored.
    """
    limit = websocket_limit() if limit is None else limit
    port = free_port() if port is None else port
    token = secrets.token_hex(16) if token is None else token
    temp_dirs: list[Path] = []
    config_dir = Path(tempfile.mkdtemp(prefix="acl-notebook-config-"))
    temp_dirs.append(config_dir)
    write_server_config(config_dir, limit)
    run_env = server_env(config_dir, limit, env)
    args = list(extra_args)
    if isolated:
        home = Path(tempfile.mkdtemp(prefix="acl-notebook-home-"))
        temp_dirs.append(home)
        for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                         ("IPYTHONDIR", "ipython")):
            (home / sub).mkdir()
            run_env[var] = str(home / sub)
        if not voila:
            (home / "workspaces").mkdir()
            _quiet_lab_settings(home / "settings")
            args += [f"--LabApp.workspaces_dir={home / 'workspaces'}",
                     f"--LabApp.user_settings_dir={home / 'settings'}"]
    argv = server_command(notebook, port=port, voila=voila, token=token, root_dir=root_dir,
                          ip="127.0.0.1", open_browser=False, extra_args=args)
    log_file: Optional[IO[bytes]] = None
    log = Path(log_path) if log_path is not None else None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log_file = open(log, "wb")  # noqa: SIM115 - handed to the child, closed below
    try:
        process = subprocess.Popen(
            argv,
            env=run_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file if log_file else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except BaseException:
        for folder in temp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        if log_file is not None:
            log_file.close()
    return ServerProcess(process, port=port, token=token, voila=voila, temp_dirs=temp_dirs, log_path=log)


def launch_lab(
    notebook: Optional[PathLike] = None,
    port: Optional[int] = None,
    extra_args: Sequence[str] = (),
    voila: bool = False,
) -> int:
    """Run JupyterLab (or Voila) in the foreground with the raised limit; return its exit code.

    This is what ``acl-notebook lab [NOTEBOOK]`` and ``acl-notebook voila [NOTEBOOK]`` call.
    The user's own Jupyter configuration still applies; ours is only added to it.
    """
    limit = websocket_limit()
    root_dir: Optional[Path] = None
    if notebook is not None:
        path = Path(notebook).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"no such notebook: {path}")
        if not voila and not _is_within(path.resolve(), Path.cwd().resolve()):
            # JupyterLab only opens files under its root; serve the notebook's folder
            root_dir = path.resolve().parent
            notebook = path.name
    # Choose the port and token ourselves, so we can print a link that opens the notebook
    # itself: Jupyter prints only /lab, which a remote or headless user would have to navigate.
    port = port or free_port()
    token = None if voila or any("token" in a for a in extra_args) else secrets.token_hex(24)
    config_dir = Path(tempfile.mkdtemp(prefix="acl-notebook-config-"))
    try:
        write_server_config(config_dir, limit)
        argv = server_command(notebook, port=port, voila=voila, root_dir=root_dir, token=token,
                              extra_args=extra_args)
        print(f"acl-notebook: websocket limit {limit} bytes ({limit / (1 << 20):.0f} MiB) for uploads",
              file=sys.stderr)
        if token is not None:
            # Jupyter serves a notebook given on the command line from that notebook's folder.
            page = f"lab/tree/{Path(notebook).name}" if notebook else "lab"
            print(f"acl-notebook: open http://localhost:{port}/{page}?token={token}", file=sys.stderr)
        hint = remote_hint(port, extra_args)
        if hint:
            print(f"acl-notebook: {hint}", file=sys.stderr)
        process = subprocess.Popen(argv, env=server_env(config_dir, limit))
        restore = _forward_signals(process, (signal.SIGTERM, signal.SIGHUP))
        try:
            while True:
                try:
                    return process.wait()
                except KeyboardInterrupt:
                    # the server got the same SIGINT from the terminal; let it finish shutting down
                    continue
        finally:
            restore()
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "")


def bind_host(extra_args: Sequence[str]) -> str:
    """The address the server will listen on: Jupyter's default (localhost) unless the extra
    arguments set ``--ip`` / ``--ServerApp.ip`` / ``--Voila.ip``."""
    host = "localhost"
    args = list(extra_args)
    for i, arg in enumerate(args):
        for flag in ("--ip", "--ServerApp.ip", "--NotebookApp.ip", "--Voila.ip"):
            if arg.startswith(flag + "="):
                host = arg.split("=", 1)[1]
            elif arg == flag and i + 1 < len(args):
                host = args[i + 1]
    return host.strip("'\"")


def remote_hint(port: int, extra_args: Sequence[str] = ()) -> Optional[str]:
    """How to reach a localhost-only server from another machine (the usual case on an Atlas
    box or a cloud VM reached over SSH): an SSH port forward to run there. None when the
    server listens on a public address already."""
    if bind_host(extra_args) not in _LOCAL_HOSTS:
        return None
    import getpass

    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        user = "USER"
    # getfqdn() says "localhost" where /etc/hosts maps the machine's name to 127.0.0.1
    names = (socket.getfqdn(), socket.gethostname())
    host = next((h for h in names if h and not h.startswith("localhost") and h not in _LOCAL_HOSTS), "THIS-HOST")
    return (f"the server listens on localhost only; from another machine run "
            f"`ssh -N -L {port}:localhost:{port} {user}@{host}` there, then open the link above in its browser")


def _quiet_lab_settings(folder: Path) -> None:
    """User settings for a throw-away JupyterLab: no news or update toasts over the page."""
    plugin = folder / "@jupyterlab" / "apputils-extension"
    plugin.mkdir(parents=True)
    (plugin / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false, "doNotDisturbMode": true}\n'
    )


def _forward_signals(process: subprocess.Popen, signals: Sequence[int]) -> Callable[[], None]:
    """Pass `signals` sent to us on to the server, so `kill <our pid>` stops it (and we then
    clean up) instead of leaving it running; returns a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.signal(sig, lambda signum, _frame: process.send_signal(signum)) for sig in signals}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


__all__ = [
    "DEFAULT_WEBSOCKET_LIMIT",
    "JUPYTER_DEFAULT_LIMIT",
    "SERVER_SETTINGS",
    "UPLOAD_LIMIT_ENV",
    "ServerProcess",
    "free_port",
    "launch_lab",
    "parse_size",
    "remote_hint",
    "server_command",
    "server_env",
    "start_server",
    "upload_limit_in_force",
    "websocket_limit",
]
