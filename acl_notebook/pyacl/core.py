"""What every pyACL call shares: the program's state, pyACL's return conventions, its errors.

pyACL's conventions (shared/docs/acl-api.md §7, and the pyACL sources): a C call with out
parameters returns ``(out..., ret)``; one returning only ``aclError`` returns ``ret``; a C
getter returns its value (0, -1 or None on failure). ACL failures are never exceptions,
only codes, and ``acl.get_recent_err_msg()`` gives this thread's last message once.
Arguments C cannot parse (a str where an int goes) raise ``TypeError`` as pyACL does.

`Program` is the one program per process. Its view of ACL's lifecycle is its own: the
process's ACL may already be initialised by the notebook session (which keeps running
for the panel and the magics), so ``acl.init`` / ``acl.finalize`` start the session if
needed and keep per-program flags with ACL's codes (a second init is 100002, a second
finalize 100037), without ever finalising the session's runtime.
"""

from __future__ import annotations

import functools
import operator
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

from ..runtime import errors as E
from ..runtime.errors import AclError, error_name
from .ledger import Ledger

U64 = (1 << 64) - 1
INT64 = (-(1 << 63), (1 << 63) - 1)  # an int64_t list item (dims): out of it is a parse failure
RT_PARAM_INVALID = E.ACL_ERROR_RT_PARAM_INVALID  # the runtime's / driver's "invalid value"
RT_INVALID_HANDLE = E.ACL_ERROR_RT_INVALID_HANDLE
INVALID_PARAM = E.ACL_ERROR_INVALID_PARAM


class Program:
    """The process's pyACL program: its session, its handles, its lifecycle flags."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self._session: Any = None
        self._tls = threading.local()
        self.initialised = False
        self.finalized = False
        self._rc: Optional[tuple[Optional[int], bool]] = None

    # -- session --------------------------------------------------------------------------
    def bind(self, session: Any) -> None:
        """Use `session` (default: the kernel's); the ledger starts empty."""
        self._session = session
        self.ledger.clear(None)
        self.initialised = self.finalized = False

    @property
    def session(self) -> Any:
        if self._session is None:
            from ..session import get_session

            self._session = get_session()
        return self._session

    @property
    def bridge(self) -> Any:
        return self.session.programs()

    def runtime(self) -> Any:
        """The bridge, with the session started and the ledger tied to the running runtime."""
        bridge = self.bridge
        token = bridge.start()
        if token != self.ledger.token:
            self.ledger.clear(token)  # a reconfigure replaced the runtime: old handles are stale
        return bridge

    def call(self, name: str, *args: Any) -> Any:
        """One backend call through the bridge (raises AclError). A symbol this CANN's
        libascendcl lacks is ACL_ERROR_API_NOT_SUPPORT (200001), as a C call answers: a
        program sees a code it can test, never the binding's FunctionNotFoundError. It names no
        call (`name` is the bridge's method, not an ACL call): the message names the program's
        call, and the detail the missing symbol."""
        try:
            return self.runtime().call(name, *args)
        except E.FunctionNotFoundError as exc:
            raise AclError(E.ACL_ERROR_API_NOT_SUPPORT, "", str(exc)) from None

    def rc(self) -> bool:
        """True when the app runs on the device (RC, ACL_DEVICE): host and device are one
        memory. Asked once per runtime (the run mode cannot change under a running one)."""
        token = self.ledger.token
        if self._rc is None or self._rc[0] != token:
            try:
                mode = int(self.call("run_mode")) == 0
            except AclError:
                return False
            self._rc = (self.ledger.token, mode)
        return self._rc[1]

    def current_context(self) -> Optional[int]:
        try:
            return self.call("get_current_context")
        except AclError:
            return None

    def stale_stream(self, stream: int, call: str) -> int:
        """107017 for a non-NULL stream that is not one of the program's live streams, once a
        context is current (without one the runtime answers 107002 first), else 0."""
        if stream and stream not in self.ledger.streams and self.current_context() is not None:
            return self.fail(RT_INVALID_HANDLE, call, f"0x{stream:x} is not a live stream")
        return 0

    # -- errors ---------------------------------------------------------------------------
    def fail(self, code: int, call: str, detail: str = "") -> int:
        """Record this thread's error message for `call` and return `code`."""
        meaning = E.ERROR_CODES.get(code, ("", ""))[1]
        text = f"{call} failed: {error_name(code)} ({code})"
        if meaning:
            text += f": {meaning}"
        if detail:
            text += f" [{detail}]"
        self._tls.message = text
        return code

    def failed(self, exc: AclError, call: str = "") -> int:
        return self.fail(exc.code, getattr(self._tls, "speaker", None) or exc.call or call, exc.detail)

    @contextmanager
    def speaking_for(self, call: str) -> Iterator[None]:
        """Backend failures inside are reported as `call`'s: the image reads a model file itself
        and hands the bytes to the backend's from-memory call, a name the program never used
        (its aclmdlLoadFromFile would otherwise say "aclmdlLoadFromMem failed")."""
        previous = getattr(self._tls, "speaker", None)
        self._tls.speaker = call
        try:
            yield
        finally:
            self._tls.speaker = previous

    def take_message(self) -> Optional[str]:
        message = getattr(self._tls, "message", None)
        self._tls.message = None
        return message

    def ret(self, call: str, name: str, *args: Any) -> int:
        """A call whose C function returns only aclError: 0 or the code."""
        try:
            self.call(name, *args)
            return 0
        except AclError as exc:
            return self.failed(exc, call)

    def get(self, call: str, failure: Any, name: str, *args: Any) -> Any:
        """A C getter (it returns a value, never a code): the runtime's answer, or `failure`
        (the getter's NULL, 0 or -1) when the runtime refuses or cannot be asked, as in an
        object's ``__del__`` at interpreter exit, after the session was finalized."""
        try:
            return self.call(name, *args)
        except AclError as exc:
            self.failed(exc, call)
            return failure

    def void(self, call: str, name: str, *args: Any) -> None:
        """A C call that returns nothing: made, and a refusal only recorded (get_recent_err_msg)."""
        try:
            self.call(name, *args)
        except AclError as exc:
            self.failed(exc, call)

    def out(self, call: str, fn: Callable[[], Any], failure: Any) -> tuple[Any, int]:
        """A call with one out parameter: ``(value, 0)`` or ``(failure, code)``."""
        try:
            return fn(), 0
        except AclError as exc:
            return failure, self.failed(exc, call)


PROGRAM = Program()


# -- argument parsing as PyArg_ParseTuple does it ---------------------------------------------
def takes_no_arguments(fn: Callable[[], Any]) -> Callable[..., Any]:
    """A call pyACL registers METH_VARARGS but whose wrapper never parses its args tuple
    (hicann/runtime python/pyACL: ``acl.rt.get_device``, ``create_stream``,
    ``acl.mdl.create_dataset``...): positional arguments are accepted and dropped, so
    ``acl.rt.get_device(0)`` in a public sample answers as ``get_device()`` does. Keywords
    are still refused, as METH_VARARGS refuses them."""

    @functools.wraps(fn)
    def call(*_ignored: Any) -> Any:
        return fn()

    return call


def unsigned(value: Any, call: str) -> int:
    """A ``k`` / ``K`` argument (pointer, size_t, uint64): any int, wrapped to 64 bits."""
    try:
        return operator.index(value) & U64
    except TypeError:
        raise TypeError(f"{call} args parse failed") from None


def signed(value: Any, call: str, bits: int = 32) -> int:
    """An ``i`` argument (int32 / an enum)."""
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{call} args parse failed") from None
    if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
        raise TypeError(f"{call} args parse failed")
    return v


def uint32(value: Any, call: str) -> int:
    """An ``I`` argument (a model id)."""
    try:
        return operator.index(value) & 0xFFFFFFFF
    except TypeError:
        raise TypeError(f"{call} args parse failed") from None


def text(value: Any, call: str) -> str:
    """An ``s`` argument."""
    if not isinstance(value, str):
        raise TypeError(f"{call} args parse failed")
    return value


__all__ = ["INVALID_PARAM", "PROGRAM", "Program", "RT_INVALID_HANDLE", "RT_PARAM_INVALID", "signed",
           "takes_no_arguments", "text", "uint32", "unsigned"]
