"""Build the fake libascendcl.so (tests/abi/fakeacl.c) and drive its control API.

Why: the `acl` backend has to be tested through real ctypes calls into a real shared
library with ACL's ABI. `build_fake_acl` compiles the C stand-in into a CANN-shaped tree
(``<tmp>/ascend/latest/lib64/libascendcl.so``) so tests can point the binding at it the
way a user would (``ASCEND_HOME_PATH=<tmp>/ascend/latest``). Each variant is compiled once
per test session. `FakeAclControl` wraps the ``fakeacl_*`` functions that are not part of
ACL: reset, configuration, fault injection and read-backs.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Optional

ABI_DIR = Path(__file__).resolve().parent / "abi"
SOURCE = ABI_DIR / "fakeacl.c"
CFLAGS = ("-shared", "-fPIC", "-O1", "-pthread", "-fvisibility=hidden", "-Wall", "-Wextra")

#: variant -> (directory name of the CANN root under tmp, extra compiler flags)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "current": ("ascend", ()),
    "old": ("ascend-old", ("-DFAKEACL_OLD_CANN",)),
}

_built: dict[str, Path] = {}
_lock = threading.Lock()


def cann_root(library: Path) -> Path:
    """The ASCEND_HOME_PATH value for a built library (``.../latest``)."""
    return library.parent.parent


def build_fake_acl(tmp_dir: Path, variant: str = "current") -> Path:
    """Compile the fake library for `variant` (once per session) and return its path."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown fakeacl variant {variant!r}; choose one of {sorted(VARIANTS)}")
    with _lock:
        cached = _built.get(variant)
        if cached is not None and cached.is_file():
            return cached
        compiler = shutil.which("gcc") or shutil.which("cc")
        if compiler is None:
            raise RuntimeError("no C compiler (gcc or cc) on PATH: the acl backend tests need one")
        root_name, extra = VARIANTS[variant]
        out = Path(tmp_dir) / root_name / "latest" / "lib64" / "libascendcl.so"
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = [compiler, *CFLAGS, *extra, "-o", str(out), str(SOURCE)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"compiling {SOURCE.name} failed:\n$ {' '.join(cmd)}\n{proc.stderr}")
        _built[variant] = out
        return out


class FakeAclControl:
    """ctypes access to the ``fakeacl_*`` control API of a built library.

    It opens the same file the backend opens, so the dynamic loader hands back the same
    library instance and both see one state.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lib = ctypes.CDLL(str(self.path))
        L, c = self.lib, ctypes
        for name, restype, argtypes in (
            ("fakeacl_reset", None, []),
            ("fakeacl_is_old_cann", c.c_int, []),
            ("fakeacl_set_device_count", None, [c.c_uint32]),
            ("fakeacl_set_soc", None, [c.c_char_p]),
            ("fakeacl_set_memory", None, [c.c_int32, c.c_uint64, c.c_uint64]),
            ("fakeacl_set_utilization", None, [c.c_int32, c.c_int32, c.c_int32, c.c_int32]),
            ("fakeacl_set_run_mode", None, [c.c_int32]),
            ("fakeacl_set_prefer_modeldef", None, [c.c_int32]),
            ("fakeacl_fail", c.c_int, [c.c_char_p, c.c_int, c.c_int]),
            ("fakeacl_last_model_ptr", c.c_void_p, []),
            ("fakeacl_last_model_size", c.c_size_t, []),
            ("fakeacl_last_priority", c.c_int, [c.POINTER(c.c_int32)]),
            ("fakeacl_live_models", c.c_uint32, []),
            ("fakeacl_live_contexts", c.c_uint32, []),
            ("fakeacl_live_descs", c.c_uint32, []),
            ("fakeacl_live_config_handles", c.c_uint32, []),
            (
                "fakeacl_model_header",
                c.c_int,
                [c.c_uint32, c.POINTER(c.c_uint32), c.POINTER(c.c_uint32), c.c_char_p, c.c_size_t],
            ),
            ("fakeacl_sizeof", c.c_size_t, [c.c_char_p]),
            ("fakeacl_calls", c.c_uint64, [c.c_char_p]),
            ("fakeacl_memcpy_calls", c.c_uint64, [c.c_int32]),
            ("fakeacl_memcpy_at", c.c_int32,
             [c.c_uint32, c.POINTER(c.c_void_p), c.POINTER(c.c_void_p), c.POINTER(c.c_size_t)]),
            ("fakeacl_live_allocations", c.c_uint32, [c.c_int32]),
            ("fakeacl_live_data_buffers", c.c_uint32, []),
            ("fakeacl_live_datasets", c.c_uint32, []),
            ("fakeacl_live_streams", c.c_uint32, []),
            ("fakeacl_live_events", c.c_uint32, []),
            ("fakeacl_live_tensor_descs", c.c_uint32, []),
        ):
            fn = getattr(L, name)
            fn.restype = restype
            fn.argtypes = argtypes

    # -- configuration ------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to a fresh process: defaults, no models/contexts/injections, ids from 1."""
        self.lib.fakeacl_reset()

    @property
    def is_old_cann(self) -> bool:
        return bool(self.lib.fakeacl_is_old_cann())

    def set_device_count(self, count: int) -> None:
        self.lib.fakeacl_set_device_count(count)

    def set_soc(self, soc: str) -> None:
        self.lib.fakeacl_set_soc(soc.encode())

    def set_memory(self, total: int, idle: int = 0, device: int = -1) -> None:
        """Device memory total and idle use in bytes; device -1 = every device."""
        self.lib.fakeacl_set_memory(device, total, idle)

    def set_utilization(self, device: int, cube: int, vector: int, aicpu: int = 0) -> None:
        """What aclrtGetDeviceUtilizationRate reports for `device` (percent; -1 = not measurable)."""
        self.lib.fakeacl_set_utilization(device, cube, vector, aicpu)

    def set_run_mode(self, mode: int) -> None:
        self.lib.fakeacl_set_run_mode(mode)

    def prefer_modeldef(self, on: bool = True) -> None:
        """Ignore MODEL_INOUT_INFO and read I/O from the ModelDef graph instead."""
        self.lib.fakeacl_set_prefer_modeldef(int(on))

    def fail(self, func: str, code: int, after_n_calls: int = 0) -> None:
        """Let `after_n_calls` calls of `func` pass, then fail the next one with `code` (once)."""
        if self.lib.fakeacl_fail(func.encode(), code, after_n_calls) != 0:
            raise ValueError(f"fakeacl_fail({func!r}, {code}, {after_n_calls}) was refused")

    # -- read-backs ---------------------------------------------------------------------------
    def last_model_ptr(self) -> int:
        return self.lib.fakeacl_last_model_ptr() or 0

    def last_model_size(self) -> int:
        return self.lib.fakeacl_last_model_size()

    def last_priority(self) -> Optional[int]:
        value = ctypes.c_int32()
        return value.value if self.lib.fakeacl_last_priority(ctypes.byref(value)) else None

    def live_models(self) -> int:
        return self.lib.fakeacl_live_models()

    def live_contexts(self) -> int:
        return self.lib.fakeacl_live_contexts()

    def live_descs(self) -> int:
        return self.lib.fakeacl_live_descs()

    def live_tensor_descs(self) -> int:
        """Tensor descs alive in the library, the ones datasets own included."""
        return self.lib.fakeacl_live_tensor_descs()

    def live_config_handles(self) -> int:
        return self.lib.fakeacl_live_config_handles()

    def model_header(self, model_id: int) -> tuple[int, int, str]:
        """(header version, model_num, platform_version) as the C parser read them."""
        version, num = ctypes.c_uint32(), ctypes.c_uint32()
        text = ctypes.create_string_buffer(32)
        if self.lib.fakeacl_model_header(model_id, ctypes.byref(version), ctypes.byref(num), text, 32):
            raise KeyError(f"no model {model_id} in the fake library")
        return version.value, num.value, text.value.decode()

    def sizeof(self, type_name: str) -> int:
        return self.lib.fakeacl_sizeof(type_name.encode())

    # -- execution read-backs -------------------------------------------------------------------
    def calls(self, func: str) -> int:
        """How often `func` (an execution-family ACL function) was called since the last reset."""
        return self.lib.fakeacl_calls(func.encode())

    def memcpy_calls(self, kind: int) -> int:
        """Successful aclrtMemcpy calls of `kind` (aclrtMemcpyKind) since the last reset."""
        return self.lib.fakeacl_memcpy_calls(kind)

    def memcpy_log(self) -> list[tuple[int, int, int, int]]:
        """The last (up to 16) aclrtMemcpy calls, oldest first: (dst, src, count, kind)."""
        out = []
        for back in range(16):
            dst, src, count = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_size_t()
            kind = self.lib.fakeacl_memcpy_at(back, ctypes.byref(dst), ctypes.byref(src), ctypes.byref(count))
            if kind < 0:
                break
            out.append((dst.value or 0, src.value or 0, count.value, kind))
        return out[::-1]

    def live_objects(self) -> dict[str, int]:
        """Live allocations and handles, keyed like `SimulatorBackend.live_objects`."""
        return {
            "device_allocations": self.lib.fakeacl_live_allocations(0),
            "host_allocations": self.lib.fakeacl_live_allocations(1),
            "data_buffers": self.lib.fakeacl_live_data_buffers(),
            "datasets": self.lib.fakeacl_live_datasets(),
            "streams": self.lib.fakeacl_live_streams(),
            "descs": self.lib.fakeacl_live_descs(),
            "events": self.lib.fakeacl_live_events(),
        }
