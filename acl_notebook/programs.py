"""The session's door for programs that drive ACL themselves (the pyACL image, `acl_notebook.pyacl`).

A pyACL program manages its own contexts and expects ACL's semantics in them: a model
loaded in the program's context, a buffer it allocated, an unload from the wrong context
giving 107004. So its calls must reach the runtime *as they are*, in the calling thread's
current context, not through the session's `_use(device)` discipline. At the same time
the notebook must keep one truth: a model the program loads appears in `%acl_models`,
`acl.memory()` and the panel, marked as the program's, and disappears when the program
unloads it; device memory the program allocates is visible, attributed to the model whose
I/O it carries once it has been executed with it.

`ProgramBridge` is that surface, and the only one. It offers:

- `call(name, *args)`: one backend call from `PASS_THROUGH` (the ACL calls of the
  backend interface), made as is: no context is switched, no session lock is held (the
  runtime locks itself, and a long execute must not stall the panel's timer). ACL errors
  come back as `AclError`. The session is started on first use in a helper thread, so its
  own context never becomes current on the program's thread.
- registry hooks, each taking the session lock briefly: `adopt_model` / `forget_model`
  after the runtime said yes to a load / unload, `note_alloc` / `note_free` for device
  memory, and `attribute` after an execute.

The bridge never hands out the backend itself.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional

from .runtime import errors as E
from .runtime.errors import AclError

if TYPE_CHECKING:
    from .session import Model, Session

log = logging.getLogger("acl_notebook")

#: ACL's "not initialised", for a call that comes after the session was finalized at exit.
ACL_ERROR_UNINITIALIZE = E.ACL_ERROR_UNINITIALIZE

#: How models and memory a program owns are labelled in the registry.
ORIGIN = "pyACL"

#: The backend calls a program may make through the bridge (the ACL calls of runtime/base.py).
PASS_THROUGH = frozenset({
    "init", "finalize", "run_mode", "soc_name", "device_count", "set_device", "reset_device",
    "create_context", "destroy_context", "set_current_context", "get_current_context", "mem_info",
    "query_size", "load_from_mem", "load_with_mem", "load_with_config", "get_desc", "get_desc_from_mem",
    "unload",
    "malloc", "free", "malloc_host", "free_host", "memcpy", "memset", "memcpy_async", "memset_async",
    "create_stream", "destroy_stream", "synchronize_stream",
    "subscribe_report", "unsubscribe_report", "launch_callback", "process_report",
    "versions", "get_device", "utilization", "synchronize_stream_with_timeout", "stream_priority_range",
    "create_event", "destroy_event", "record_event", "reset_event", "synchronize_event", "query_event_status",
    "event_elapsed_time", "stream_wait_event",
    "create_data_buffer", "destroy_data_buffer", "data_buffer_addr", "data_buffer_size", "update_data_buffer",
    "create_dataset", "destroy_dataset", "add_dataset_buffer", "dataset_num_buffers", "dataset_buffer",
    "execute", "execute_async", "set_dynamic_batch_size", "set_dynamic_hw_size", "set_input_dynamic_dims",
    "create_desc", "destroy_desc", "cur_output_dims", "input_index_by_name",
    "malloc_cached", "mem_flush", "mem_invalidate", "create_stream_with_config", "query_event",
    "synchronize_event_with_timeout", "query_event_wait_status",
    "create_tensor_desc", "destroy_tensor_desc", "tensor_desc_type", "tensor_desc_format", "tensor_desc_num_dims",
    "tensor_desc_dim", "tensor_desc_element_count", "tensor_desc_size", "tensor_desc_name", "set_tensor_desc_name",
    "set_dataset_tensor_desc", "dataset_tensor_desc",
})


@dataclass
class ProgramAlloc:
    """One live allocation a program made (device memory, or ACL host memory in RC)."""

    ptr: int
    size: int
    charge: int  # bytes it takes from the device (0 for page-locked host memory in EP)
    device: int
    host: bool
    model_id: Optional[int] = None  # the model whose I/O it carried, once executed with it


class ProgramBridge:
    """Pass-through and registry hooks for one kind of program (see the module docstring)."""

    def __init__(self, session: Session, origin: str = ORIGIN) -> None:
        self._session = session
        self.origin = origin
        self._start_lock = threading.Lock()

    # -- runtime ---------------------------------------------------------------------------
    @property
    def session(self) -> Session:
        return self._session

    def start(self) -> int:
        """Start the session if it is not running (aclInit, its device and context), off the
        calling thread so the caller's thread keeps no context of ours. Returns a token that
        changes whenever the runtime is replaced (a reconfigure), so a program can tell its
        handles went stale."""
        session = self._session
        backend = session._backend
        if backend is not None:  # the common case, without the session lock
            return id(backend)
        if sys.is_finalizing():  # no thread can start now: it would wait for ever
            raise AclError(ACL_ERROR_UNINITIALIZE, "aclInit", "the process is exiting and acl-notebook's runtime "
                                                               "is finalized (an object's __del__ called ACL too late)")
        if not session.started:
            with self._start_lock:
                if not session.started:
                    failure: list[BaseException] = []

                    def run() -> None:
                        try:
                            session.start()
                        except BaseException as exc:  # re-raised on the caller's thread
                            failure.append(exc)

                    t = threading.Thread(target=run, name="acl-notebook-start", daemon=True)
                    t.start()
                    t.join()
                    if failure:
                        raise failure[0]
        return id(session.backend)

    @property
    def started(self) -> bool:
        return self._session.started

    def runtime_token(self) -> Optional[int]:
        """The current runtime's token (see `start`), or None when the session is stopped."""
        return id(self._session.backend) if self._session.started else None

    def call(self, name: str, *args: Any) -> Any:
        """One ACL call, made as is in the calling thread's current context."""
        if name not in PASS_THROUGH:
            raise AttributeError(f"{name!r} is not an ACL call the bridge passes through")
        backend = self._session._backend
        if backend is None:
            self.start()
            backend = self._session.backend
        return getattr(backend, name)(*args)

    def is_session_context(self, context: int) -> bool:
        """True for a context the session owns (a program must not destroy it)."""
        return context in self._session._contexts.values()

    def memory_kind(self) -> str:
        return self._session.memory_kind()

    # -- registry hooks --------------------------------------------------------------------
    def adopt_model(self, model_id: int, model: memoryview, source: str, context: Optional[int],
                    device: int, user_memory: int = 0) -> Optional[Model]:
        """Register a model the program just loaded (the runtime already said yes).

        `user_memory`: bytes of its work / weight memory the program supplied itself
        (``load_*_with_mem``), which the runtime did not charge to the model.
        Never fails the program: if our own reading of the bytes or the descriptor query
        fails, the model is still loaded and the failure is logged.
        """
        try:
            return self._session._adopt(model_id, model, source, context, device, self.origin, user_memory)
        except Exception:
            log.exception("could not register model %s loaded by %s", model_id, self.origin)
            return None

    def forget_model(self, model_id: int) -> None:
        """The program unloaded `model_id`: drop it from the registry (whoever loaded it)."""
        self._session._forget(model_id)

    def note_alloc(self, ptr: int, size: int, charge: int, device: int, host: bool = False) -> None:
        with self._session._lock:
            self._session._program_allocs[ptr] = ProgramAlloc(ptr, size, charge, device, host)

    def note_free(self, ptr: int) -> None:
        session = self._session
        with session._lock:
            alloc = session._program_allocs.pop(ptr, None)
            if alloc is not None and alloc.model_id is not None:
                session._refresh_program_model(alloc.model_id)

    def attribute(self, model_id: int, pointers: Iterable[int]) -> None:
        """After an execute of `model_id`: the allocations holding these pointers are its I/O."""
        session = self._session
        with session._lock:
            changed = False
            for alloc in session._program_allocs.values():
                if alloc.model_id is None and any(alloc.ptr <= p < alloc.ptr + max(alloc.size, 1) for p in pointers):
                    alloc.model_id = model_id
                    changed = True
            if changed:
                session._refresh_program_model(model_id)

    def allocations(self) -> list[ProgramAlloc]:
        with self._session._lock:
            return list(self._session._program_allocs.values())

    def models(self) -> list[Model]:
        """Models in the registry that this kind of program loaded."""
        return [m for m in self._session.models() if m.origin == self.origin]


__all__ = ["ORIGIN", "PASS_THROUGH", "ProgramAlloc", "ProgramBridge"]
