"""The ``%acl_*`` line magics: a thin, typed front door to `acl_notebook.api`.

Each magic parses its line with ``parse_argstring`` and makes one or two public-API
calls; it returns the API's rich object (a `Model`, `ModelList`, `MemoryReport`...), so a
notebook shows HTML and a terminal shows text, and ``m = %acl_load x.om`` keeps the
result. Anything the user can fix (a bad path, a refused load, an unknown model) becomes
ONE ``UsageError`` line made by `usage_error`, never a traceback; we raise a plain
``UsageError`` rather than a subclass because IPython hides the traceback only for that
exact class (ipython/ipython#14024).

Importing this module stays cheap (``%load_ext`` imports it): the session, numpy and the
widgets are imported by the magics that need them.
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from typing import Any, Iterator, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Enum, Int, Unicode, observe
from traitlets.config import Configurable

from . import display
from .units import parse_size

__all__ = ["AclMagics", "load_ipython_extension", "parse_size", "unload_ipython_extension", "usage_error"]

# Traits that mirror `acl_notebook.configure` arguments.
_SETTINGS = ("backend", "soc", "device", "library")


def usage_error(message: str) -> UsageError:
    """The one place user-facing magic errors are made (a plain UsageError, see above); the
    message reads as a sentence, as `display.error_text` makes every other failure read."""
    first, _, rest = str(message).partition("\n")
    return UsageError(display.sentence(first) + (f"\n{rest}" if rest else ""))


def _user_error_types(extra: tuple[type, ...] = ()) -> tuple[type, ...]:
    """Exceptions that mean "the user can fix this"; imported only once one happened."""
    from .om.errors import OMFormatError
    from .runtime.errors import AclError, FunctionNotFoundError, LibraryNotFoundError
    from .session import DeviceMemoryError, HostMemoryError, SessionBusyError

    return (
        OMFormatError, AclError, LibraryNotFoundError, FunctionNotFoundError, DeviceMemoryError,
        HostMemoryError, SessionBusyError, OSError, KeyError, ValueError, TypeError, *extra,
    )


@contextmanager
def _as_usage_errors(*extra: type) -> Iterator[None]:
    """Turn user-fixable failures inside the block into one UsageError line."""
    try:
        yield
    except UsageError:
        raise
    except Exception as exc:
        if isinstance(exc, _user_error_types(tuple(extra))):
            raise usage_error(display.error_text(exc)) from None
        raise


def _coverage_line(source: Any) -> str:
    """What the CPU reference can do for the model, or why it cannot say (never an error)."""
    from . import api

    try:
        return api.coverage(source).summary
    except Exception as exc:  # the descriptors are still worth showing
        return f"unavailable ({display.error_line(exc)})"


# ----------------------------------------------------------------------------------------
# argument helpers
# ----------------------------------------------------------------------------------------
def _unquote(text: str) -> str:
    """Drop one pair of matching outer quotes (IPython's splitter keeps them)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _path_arg(tokens: list[str]) -> str:
    """One path from the positional tokens: quoted, backslash-escaped or bare with spaces."""
    text = " ".join(tokens)
    unquoted = _unquote(text)
    if unquoted != text:
        return unquoted
    return re.sub(r"\\([ '\"\\])", r"\1", text)


_HELP = re.compile(r"(^|\s)(-h|--help)(\s|$)")


def _parse(magic: Any, line: str) -> Any:
    """``parse_argstring``, plus ``-h``/``--help``: print the magic's help, return None."""
    if _HELP.search(line):
        print(magic.__doc__)
        return None
    try:
        return parse_argstring(magic, line)
    except ValueError as exc:  # shlex: an unclosed quote
        raise usage_error(f"cannot split the line into arguments ({exc}); close the quote, or escape a "
                          "quote inside a name with a backslash") from None


def _known(models: Any) -> str:
    return ", ".join(f"{m.name} (id {m.id})" for m in models) or "none"


def _is_terminal(shell: Any) -> bool:
    """A terminal IPython cannot show widgets (a kernel's shell, or an embedding one, may).
    By class name, so the check imports nothing."""
    return any(c.__name__ == "TerminalInteractiveShell" for c in type(shell).__mro__)


def _neither(key: str, path: str, miss: Any) -> str:
    """Why `key` is neither a loaded model nor a file, with the close file or model name."""
    from .suggest import close_path, did_you_mean

    near = close_path(path)
    if near is not None:
        return f"{key!r} is neither a loaded model nor a file{did_you_mean(near)}"
    return f"{key!r} is neither a loaded model nor a file; as a model: {miss}"


# ----------------------------------------------------------------------------------------
# the magics
# ----------------------------------------------------------------------------------------
@magics_class
class AclMagics(Magics, Configurable):
    """Load Ascend offline models (.om) from memory and watch device memory.

    Options (``%config AclMagics.<name> = value``, or ``c.AclMagics.<name>`` in
    ``ipython_config.py`` / ``ipython_kernel_config.py``) are applied to the session
    when the extension loads and again whenever ``%config`` changes one. ``%acl_config``
    changes the live session without touching these defaults.
    """

    backend = Enum(
        ("auto", "sim", "acl"),
        default_value="auto",
        help="Backend: 'acl' (real libascendcl.so), 'sim' (simulator) or 'auto' (acl if CANN is found).",
    ).tag(config=True)
    soc = Unicode(
        "", help="SoC the simulator imitates, e.g. 'Ascend910B1', 'Ascend310B4'; 'auto' (the default) lets the "
        "first loaded model choose it.",
    ).tag(config=True)
    device = Int(0, help="Default device id for loads and memory reports.").tag(config=True)
    library = Unicode("", help="Explicit path of libascendcl.so (empty: search the CANN install).").tag(
        config=True
    )

    _live = False  # False while traitlets loads config in __init__
    _reverting = False

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        section = self.config[type(self).__name__] if type(self).__name__ in self.config else {}
        self._pending = {name: getattr(self, name) for name in _SETTINGS if name in section}
        self._live = True

    # -- options -> session ---------------------------------------------------------------
    @staticmethod
    def _settings(values: dict[str, Any]) -> dict[str, Any]:
        """Trait values as `configure` keywords; empty strings mean "not set"."""
        out = {}
        for name, value in values.items():
            if name in ("soc", "library") and not value:
                continue
            out[name] = os.path.expanduser(value) if name == "library" else value
        return out

    def apply_config(self) -> None:
        """Apply options that came from a config file (called once, when the extension loads)."""
        pending, self._pending = self._settings(self._pending), {}
        if pending:
            from . import api

            with _as_usage_errors():
                api.configure(**pending)

    @observe(*_SETTINGS)
    def _setting_changed(self, change: Any) -> None:
        if not self._live or self._reverting:
            return
        settings = self._settings({change["name"]: change["new"]})
        if not settings:
            return
        from . import api

        try:
            with _as_usage_errors():
                api.configure(**settings)
        except UsageError:
            self._reverting = True  # keep the option equal to what the session runs with
            try:
                setattr(self, change["name"], change["old"])
            finally:
                self._reverting = False
            raise

    # -- %acl_load ------------------------------------------------------------------------
    @magic_arguments()
    @argument(
        "source",
        nargs="*",
        help="Path of an .om file (quote it or backslash-escape spaces; ~ is expanded), or the name "
        "of a variable holding the model bytes.",
    )
    @argument(
        "-v", "--var", metavar="VAR",
        help="Load from this variable (or expression) of the notebook: bytes, bytearray, memoryview, "
        "mmap or a numpy uint8 array. Nothing is copied.",
    )
    @argument("-n", "--name", help="Name to register the model under (default: the name inside the file).")
    @argument(
        "-d", "--device", metavar="N|all|0-3|0,2",
        help="Device id (default: the session's device), or several: all, a range 0-3 or a list 0,2 "
        "(one copy per device, returned as a ModelGroup).",
    )
    @argument("-c", "--cluster", action="store_true",
              help="Load on every NPU of the cluster (acl.cluster.local() or connect() first).")
    @argument("-f", "--force", action="store_true", help="Skip the device-memory pre-check.")
    @argument(
        "-p", "--priority", type=int, metavar="N",
        help="Load through aclmdlLoadWithConfig with this priority.",
    )
    @line_magic
    def acl_load(self, line: str = "") -> Any:
        """Load an offline model from memory onto the NPU and return it.

        Examples::

            %acl_load models/resnet50.om
            m = %acl_load "~/my models/yolo v5.om" --name yolo --device 1
            %acl_load -v blob              # blob = open(path, "rb").read()
            %acl_load big.om --force       # skip the free-memory pre-check
            g = %acl_load net.om --device all    # one copy per device: a ModelGroup
            %acl_load net.om --cluster     # every NPU of the cluster, bytes sent once

        The model is checked before the device is touched: a file that is not an .om, or
        that needs more device memory than is free, is refused with one line saying why.
        """
        args = _parse(self.acl_load, line)
        if args is None:
            return None
        source, label = self._source(args.source, args.var)
        from . import api

        name = _unquote(args.name) if args.name is not None else None
        from .cluster.results import ClusterError
        from .group import GroupLoadError

        with _as_usage_errors(TypeError, GroupLoadError, ClusterError):
            if args.cluster:
                if args.device is not None:
                    raise usage_error("give --device or --cluster, not both (a cluster load uses every NPU)")
                from . import cluster

                return cluster.load(source, name=name, force=args.force, priority=args.priority, label=label)
            device = _unquote(args.device) if args.device is not None else None
            return api.load(
                source, name=name, device=device, force=args.force, priority=args.priority, label=label
            )

    def _source(self, tokens: list[str], var: Optional[str]) -> tuple[Any, Optional[str]]:
        """(what to pass to `load`/`inspect`, label to show) from a path or a variable."""
        if var and tokens:
            raise usage_error("give either a path or --var VAR, not both")
        if var:
            return self._variable(_unquote(var))
        if not tokens:
            raise usage_error("give the path of an .om file, or -v VAR for a variable holding its bytes")
        text = _path_arg(tokens)
        path = os.path.expanduser(text)
        if not os.path.exists(path) and text.isidentifier() and text in self.shell.user_ns:
            return self._variable(text)
        return path, None

    def _variable(self, expr: str) -> tuple[Any, str]:
        ns = self.shell.user_ns
        if expr in ns:
            value = ns[expr]
        else:
            try:
                value = self.shell.ev(expr)
            except NameError:
                raise usage_error(f"no variable named {expr!r} in the notebook; assign the model bytes first "
                                  f"(e.g. {expr} = open(path, 'rb').read())") from None
            except Exception as exc:
                raise usage_error(f"could not evaluate {expr!r}: {type(exc).__name__}: {exc}") from None
        if isinstance(value, (str, os.PathLike)):
            return os.path.expanduser(os.fspath(value)), None
        return value, f"<{type(value).__name__}> {expr}"

    # -- %acl_unload ----------------------------------------------------------------------
    @magic_arguments()
    @argument("models", nargs="*", help="Names or ids of loaded models.")
    @argument("-a", "--all", action="store_true", help="Unload every loaded model.")
    @line_magic
    def acl_unload(self, line: str = "") -> Any:
        """Unload models by name or id (``%acl_unload resnet50``, ``%acl_unload 3``, ``--all``).

        Returns the unloaded model (or a list of them). Unknown names unload nothing.
        """
        args = _parse(self.acl_unload, line)
        if args is None:
            return None
        from . import api
        from .session import ModelList

        with _as_usage_errors():
            loaded = api.models()
            if args.all:
                if args.models:
                    raise usage_error("give model names/ids or --all, not both")
                api.unload_all()
                return ModelList(loaded)
            if not args.models:
                raise usage_error(f"say which model to unload (or --all); loaded: {_known(loaded)}")
            targets = []
            for key in (_unquote(k) for k in args.models):
                # a group's name first, as acl.unload does: a single model whose alias is
                # that name (its file is fast.om) must not be unloaded in the group's place
                copies = [m for m in loaded if getattr(m, "group", None) == key]
                if copies:
                    targets += [m for m in copies if m not in targets]
                    continue
                model = api.find(key)  # a name, an alias or an id; a miss says what was meant
                if model not in targets:
                    targets.append(model)
            done = [api.unload(m) for m in targets]
        return done[0] if len(done) == 1 else ModelList(done)

    # -- %acl_models ----------------------------------------------------------------------
    @magic_arguments()
    @line_magic
    def acl_models(self, line: str = "") -> Any:
        """List the loaded models: id, name, device, I/O count, memory, load time, source."""
        if _parse(self.acl_models, line) is None:
            return None
        from . import api

        with _as_usage_errors():
            return api.models()

    # -- %acl_desc ------------------------------------------------------------------------
    @magic_arguments()
    @argument(
        "model", nargs="*",
        help="Name or id of a loaded model, or the path of an .om file (read, not loaded). "
        "Optional when exactly one model is loaded.",
    )
    @argument("-v", "--var", metavar="VAR", help="Describe the model bytes held by this variable.")
    @line_magic
    def acl_desc(self, line: str = "") -> Any:
        """Show input/output descriptors (names, dims, dtypes, formats, sizes) and gears.

        For a loaded model these are what the runtime reports (``aclmdlGetDesc``); for a
        file or a variable they come from reading the bytes, without touching a device.
        """
        args = _parse(self.acl_desc, line)
        if args is None:
            return None
        from . import api

        with _as_usage_errors(TypeError):
            if args.var or args.model:
                from .session import ModelNotFoundError

                key = _path_arg(args.model) if args.model else ""
                miss: Optional[ModelNotFoundError] = None
                if key and not args.var:
                    from .group import find_group
                    from .session import get_session

                    group = find_group(get_session(), key)  # a group's name: its copies are one model
                    if group is not None:
                        first = group.models[0]
                        return display.Descriptors.of(first, coverage=_coverage_line(first))
                    try:
                        found = api.find(key)
                    except ModelNotFoundError as exc:
                        miss = exc
                    else:
                        return display.Descriptors.of(found, coverage=_coverage_line(found))
                source, _ = self._source(args.model, args.var)
                if isinstance(source, str) and not os.path.exists(source):
                    raise KeyError(_neither(key, source, miss))
                import acl_notebook

                return display.Descriptors.of(acl_notebook.inspect(source), coverage=_coverage_line(source))
            loaded = api.models()
            if len(loaded) == 1:
                return display.Descriptors.of(loaded[0], coverage=_coverage_line(loaded[0]))
            if not loaded:
                raise usage_error("no model is loaded; give a path (%acl_desc model.om) or load one first")
            raise usage_error(f"several models are loaded; say which: {_known(loaded)}")

    # -- %acl_mem -------------------------------------------------------------------------
    @magic_arguments()
    @argument(
        "-d", "--device", metavar="N|all|0-3|0,2",
        help="Device id (default: the session's device), or several as a grid: all, 0-3, 0,2.",
    )
    @argument("-a", "--all", action="store_true", help="Report every device.")
    @argument("-c", "--cluster", action="store_true", help="Every device of every host of the cluster.")
    @argument("--host", action="store_true", help="Host memory this kernel may still take instead: the smaller "
              "of the host's MemAvailable and what the container's memory limit leaves.")
    @line_magic
    def acl_mem(self, line: str = "") -> Any:
        """Device memory: free / used / total, each loaded model's share and the rest.

        ``--device all`` (or 0-3, 0,2) shows a grid with a model group in one colour across
        its devices; ``--cluster`` the same for every NPU of the cluster, lost ones marked;
        ``--host`` the host memory runs, inputs and the CPU reference take from.
        """
        args = _parse(self.acl_mem, line)
        if args is None:
            return None
        from . import api
        from .cluster.results import ClusterError

        with _as_usage_errors(ClusterError):
            if args.host:
                if args.device is not None or args.all or args.cluster:
                    raise usage_error("give --host alone (host memory is one figure for the kernel)")
                return api.host_memory()
            if args.cluster:
                if args.device is not None or args.all:
                    raise usage_error("give --cluster alone (it reports every device of every host)")
                from . import cluster

                return cluster.memory()
            if args.all:
                if args.device is not None:
                    raise usage_error("give --device N or --all, not both")
                count = api.info().device_count
                return display.Group(api.memory(d) for d in range(count))
            return api.memory(_unquote(args.device) if args.device is not None else None)

    # -- %acl_info ------------------------------------------------------------------------
    @magic_arguments()
    @line_magic
    def acl_info(self, line: str = "") -> Any:
        """Backend, library path, ACL/CANN versions, SoC, devices, run mode, device memory, and
        the host memory the kernel may still take (the container's limit where it is tighter)."""
        if _parse(self.acl_info, line) is None:
            return None
        from . import api

        with _as_usage_errors():
            return api.info()

    # -- %acl_config ----------------------------------------------------------------------
    @magic_arguments()
    @argument("-b", "--backend", choices=("auto", "sim", "acl"), help="Which AscendCL to use.")
    @argument("-s", "--soc", help="SoC the simulator imitates, e.g. Ascend910B1, Ascend310B4, or auto "
              "(the default: the first loaded model chooses).")
    @argument("-d", "--device", type=int, metavar="N", help="Default device id.")
    @argument("-l", "--library", metavar="PATH", help="Explicit path of libascendcl.so.")
    @argument("-m", "--memory", metavar="SIZE", help="Simulated device memory, e.g. 8GiB, 512MiB, 1e9.")
    @argument("-n", "--devices", type=int, metavar="N", help="Number of simulated devices.")
    @line_magic
    def acl_config(self, line: str = "") -> Any:
        """Show or change the session's settings; with no options, show the current session.

        Changing the backend, SoC, memory, device count or library restarts the runtime,
        so unload models first (``%acl_unload --all``).
        """
        args = _parse(self.acl_config, line)
        if args is None:
            return None
        from . import api

        changes: dict[str, Any] = {"backend": args.backend, "device": args.device, "devices": args.devices}
        if args.soc is not None:
            changes["soc"] = _unquote(args.soc)
        if args.library is not None:
            changes["library"] = os.path.expanduser(_unquote(args.library))
        with _as_usage_errors():
            if args.memory is not None:
                changes["memory"] = parse_size(_unquote(args.memory))
            return api.configure(**changes)

    # -- %acl_run / %acl_bench ------------------------------------------------------------
    def _model_arg(self, tokens: list[str]) -> Any:
        """The loaded model named by `tokens` (optional when exactly one is loaded)."""
        from . import api

        loaded = api.models()
        key = _unquote(" ".join(tokens)) if tokens else ""
        if not key:
            if len(loaded) == 1:
                return loaded[0]
            if not loaded:
                raise usage_error("no model is loaded; load one first (%acl_load PATH.om)")
            raise usage_error(f"several models are loaded; say which: {_known(loaded)}")
        from .group import find_group
        from .session import ModelNotFoundError, get_session

        group = find_group(get_session(), key)  # a multi-device load, by its name: before
        if group is not None:  # aliases, so a model of fast.om does not stand in for group fast
            return group
        try:
            return api.find(key)  # a name, an alias or an id; a miss says what was meant
        except ModelNotFoundError as exc:
            raise usage_error(display.error_text(exc)) from None

    @staticmethod
    def _gear_args(args: Any) -> dict[str, Any]:
        """--batch N / --hw H,W / --dims a,b,... as run() keywords."""
        gear: dict[str, Any] = {}
        if args.batch is not None:
            gear["batch"] = args.batch
        for key in ("hw", "dims"):
            text = getattr(args, key)
            if text is None:
                continue
            try:
                values = tuple(int(v) for v in _unquote(text).replace("x", ",").split(",") if v.strip())
            except ValueError:
                raise usage_error(f"--{key} takes integers separated by commas (e.g. --{key} "
                                  f"{'224,224' if key == 'hw' else '128,128'}), got {text!r}") from None
            if key == "hw" and len(values) != 2:
                raise usage_error(f"--hw takes two integers H,W, got {text!r}")
            gear[key] = values
        if len(gear) > 1:
            raise usage_error("give one of --batch, --hw, --dims")
        return gear

    def _inputs_arg(self, var: Optional[str], random: bool) -> Any:
        if var and random:
            raise usage_error("give either -i VAR or --random, not both")
        if not var and not random:
            raise usage_error("say what to run on: -i VAR (an array, a list or a dict of arrays) or --random")
        if random:
            return None
        expr = _unquote(var or "")
        ns = self.shell.user_ns
        if expr in ns:
            return ns[expr]
        try:
            return self.shell.ev(expr)
        except NameError:
            raise usage_error(f"no variable named {expr!r} in the notebook") from None
        except Exception as exc:
            raise usage_error(f"could not evaluate {expr!r}: {type(exc).__name__}: {exc}") from None

    @magic_arguments()
    @argument("model", nargs="*", help="Name or id of a loaded model (optional when exactly one is loaded).")
    @argument("-i", "--inputs", metavar="VAR", help="Variable holding the input: an array, a list in input "
              "order or a dict name -> array.")
    @argument("-r", "--random", action="store_true", help="Run on random inputs matching the descriptors.")
    @argument("-o", "--out", metavar="OUTVAR", help="Also store the Outputs in this notebook variable.")
    @argument("-b", "--batch", type=int, metavar="N", help="Dynamic-batch gear.")
    @argument("--hw", metavar="H,W", help="Image-size gear.")
    @argument("--dims", metavar="D,D,...", help="Dims gear: one value per -1 axis, in shape order.")
    @argument("-s", "--split", action="store_true",
              help="For a model group: shard the batch axis across its devices (gears respected).")
    @line_magic
    def acl_run(self, line: str = "") -> Any:
        """Run a loaded model once and show its outputs (name, shape, dtype, min/max/mean, argmax, NaN/Inf).

        Examples::

            %acl_run resnet50 -i x                 # x: a numpy array
            out = %acl_run resnet50 --random
            %acl_run yolo --random --hw 640,640 -o det

        The gear is chosen from the input shapes unless --batch, --hw or --dims is given.
        """
        args = _parse(self.acl_run, line)
        if args is None:
            return None
        from . import api

        with _as_usage_errors(TypeError):
            model = self._model_arg(args.model)
            gear = self._gear_args(args)
            inputs = self._inputs_arg(args.inputs, args.random)
            if inputs is None:
                inputs = api.random_inputs(model, **gear)
            out = api.run(model, inputs, split=args.split, **gear)
        if args.out:
            name = _unquote(args.out)
            if not name.isidentifier():
                raise usage_error(f"-o takes a variable name, got {name!r}")
            self.shell.user_ns[name] = out
        return out

    @magic_arguments()
    @argument("model", nargs="*", help="Name or id of a loaded model (optional when exactly one is loaded).")
    @argument("-n", "--runs", type=int, default=100, metavar="N", help="Recorded runs (default 100).")
    @argument("-w", "--warmup", type=int, default=5, metavar="N", help="Unrecorded runs first (default 5).")
    @argument("-i", "--inputs", metavar="VAR", help="Variable holding the inputs (default: random inputs).")
    @argument("-b", "--batch", type=int, metavar="N", help="Dynamic-batch gear.")
    @argument("--hw", metavar="H,W", help="Image-size gear.")
    @argument("--dims", metavar="D,D,...", help="Dims gear: one value per -1 axis, in shape order.")
    @argument("--json", metavar="PATH", help="Also write the summary (ais_bench's key names) to this file.")
    @line_magic
    def acl_bench(self, line: str = "") -> Any:
        """Time a model: N runs after a warmup; min/p50/p90/p99/mean/max in ms and throughput.

        Examples::

            %acl_bench resnet50
            r = %acl_bench resnet50 -n 1000 --warmup 10 --batch 8 --json bench.json

        The figures are msame's and ais_bench's: aclmdlExecute alone, the H2D and D2H
        copies, and the whole run; throughput = 1000 x batch / mean execute ms.
        """
        args = _parse(self.acl_bench, line)
        if args is None:
            return None
        from . import api

        with _as_usage_errors(TypeError):
            model = self._model_arg(args.model)
            gear = self._gear_args(args)
            inputs = self._inputs_arg(args.inputs, False) if args.inputs else None
            result = api.bench(model, args.runs, args.warmup, inputs=inputs, **gear)
            if args.json:
                result.to_json(os.path.expanduser(_unquote(args.json)))
        return result

    @magic_arguments()
    @argument("model", nargs="*", help="Name or id of a loaded model (optional when exactly one is loaded).")
    @argument("-i", "--inputs", metavar="VAR", help="Variable holding the input: an array, a list in input "
              "order or a dict name -> array.")
    @argument("-r", "--random", action="store_true", help="Compare on random inputs matching the descriptors.")
    @line_magic
    def acl_compare(self, line: str = "") -> Any:
        """Run a loaded model on its device and through the CPU reference, and compare the outputs.

        Per output: max abs / rel error, mean abs error, cosine similarity, argmax agreement
        and NaN / Inf counts on each side, with how the reference was computed (its fidelity).

        Examples::

            %acl_compare resnet50 -i x
            cmp = %acl_compare resnet50 --random
        """
        args = _parse(self.acl_compare, line)
        if args is None:
            return None
        from . import api

        with _as_usage_errors(TypeError):
            model = self._model_arg(args.model)
            inputs = self._inputs_arg(args.inputs, args.random)
            return api.compare(model, inputs)

    # -- %acl_panel -----------------------------------------------------------------------
    @magic_arguments()
    @argument("-d", "--device", metavar="N|all|0-3",
              help="Device the panel shows first; several (all, 0-3, 0,2) give the live device grid.")
    @argument("-c", "--cluster", action="store_true", help="The cluster view: hosts x devices, live.")
    @line_magic
    def acl_panel(self, line: str = "") -> Any:
        """Open the live panel: upload .om files, inspect loaded models, watch device memory.

        The panel is a widget and needs a notebook front end (JupyterLab, Notebook 7, VS Code,
        Voila); in a terminal IPython this says so and shows ``%acl_mem`` instead.
        """
        args = _parse(self.acl_panel, line)
        if args is None:
            return None
        from . import api
        from .cluster.results import ClusterError

        if _is_terminal(self.shell):
            print("The panel needs a notebook front end (JupyterLab, Notebook 7, VS Code or Voila); "
                  "in this terminal, here is %acl_mem instead (%acl_models lists the models).")
            with _as_usage_errors():
                return api.memory(args.device)

        try:
            with _as_usage_errors(ClusterError):
                if args.cluster:
                    from . import cluster

                    return cluster.panel()
                return api.panel(device=_unquote(args.device) if args.device is not None else None)
        except ModuleNotFoundError as exc:
            if exc.name in ("ipywidgets", "matplotlib"):
                raise usage_error(f"the panel needs {exc.name}: pip install 'acl-notebook[lab]' "
                                  f"or pip install {exc.name}") from None
            raise


    # -- %acl_pyacl -----------------------------------------------------------------------
    @magic_arguments()
    @argument("-f", "--force", action="store_true",
              help="Use acl-notebook's image even where CANN's own pyACL is installed.")
    @argument("--off", action="store_true", help="Give `import acl` back to what it was before.")
    @line_magic
    def acl_pyacl(self, line: str = "") -> Any:
        """Make `import acl` in this kernel give acl-notebook's pyACL image: existing pyACL code
        runs unchanged (on the simulator without an NPU), and the models and device memory it
        uses show in %acl_models, %acl_mem and the panel."""
        args = _parse(self.acl_pyacl, line)
        if args is None:
            return None
        from . import pyacl

        if args.off:
            changed = pyacl.uninstall()
            print("import acl gives what it gave before" if changed else "acl-notebook's pyACL image was not installed")
            return None
        status = pyacl.install(force=args.force)
        print(status.message)
        return None


# ----------------------------------------------------------------------------------------
# extension hooks
# ----------------------------------------------------------------------------------------
def _registered(ip: Any) -> Optional[AclMagics]:
    registry = ip.magics_manager.registry
    # `in` first: a miss through [] or .get() makes IPython look for a lazy declaration
    found = registry[AclMagics.__name__] if AclMagics.__name__ in registry else None
    return found if type(found).__name__ == AclMagics.__name__ else None


def load_ipython_extension(ip: Any) -> AclMagics:
    """Register the magics on `ip` (idempotent) and apply config-file options."""
    magics = _registered(ip)
    if magics is not None:
        return magics
    magics = AclMagics(shell=ip)
    if magics not in ip.configurables:
        ip.configurables.append(magics)
    ip.register_magics(magics)
    try:
        magics.apply_config()
    except UsageError as exc:
        # Bad settings must not cost the user the magics; say what is wrong instead.
        print(f"acl_notebook: could not apply AclMagics settings: {exc}", file=sys.stderr)
    return magics


def unload_ipython_extension(ip: Any) -> None:
    """Remove the magics and their options, then shut the session down, saying which models
    it unloaded (they are gone from the device, so the user should hear of it)."""
    magics = _registered(ip)
    if magics is not None:
        del ip.magics_manager.registry[AclMagics.__name__]
        for kind, table in magics.magics.items():
            live = ip.magics_manager.magics.get(kind, {})
            for name, func in table.items():
                if live.get(name) == func:
                    del live[name]
        ip.configurables[:] = [c for c in ip.configurables if c is not magics]
    session = sys.modules.get("acl_notebook.session")
    unloaded = session.get_session().shutdown() if session is not None else []
    if unloaded:
        names = ", ".join(f"{m.name} (id {m.id})" for m in unloaded)
        print(f"acl_notebook: magics removed; unloaded {len(unloaded)} model(s): {names}, and released the device.")
    else:
        print("acl_notebook: magics removed; no models were loaded.")
