"""``acl.util.start_thread`` / ``stop_thread``: the threads pyACL programs make for callbacks.

pyACL's own ``start_thread`` creates a pthread that calls ``thr_func(args_list)`` (or
``thr_func()`` when ``args_list`` is None) and returns ``(thread id, pthread_create's
error)``; the id is the pthread_t, which is what ``aclrtSubscribeReport`` takes and what
Python's ``threading.get_ident()`` gives on that thread. ``stop_thread`` joins it and
returns pthread_join's error; if the function raised, its traceback was printed when it
happened and ``stop_thread`` raises ``RuntimeError("exception=TypeError,msg=thread call
failed;")`` (hicann/runtime python/pyACL/util/thread.cpp). Here the thread is a daemon
``threading.Thread``, so its id is the same pthread_t, it shows in ``threading.enumerate()``,
and a program that forgets ``stop_thread`` does not keep the process alive at exit (a
pthread would not either). An id this module did not start, or one already joined, gets
ESRCH instead of the crash ``pthread_join`` risks; joining the calling thread gets EDEADLK.
"""

from __future__ import annotations

import errno
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from .core import unsigned


@dataclass
class _Started:
    thread: threading.Thread
    errors: list[str] = field(default_factory=list)


_started: dict[int, _Started] = {}
_lock = threading.Lock()


def _body(fn: Callable[..., Any], args: Any, record: list) -> None:
    try:
        fn() if args is None else fn(args)
    except BaseException as exc:  # noqa: BLE001 - printed now, raised again by stop_thread
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        record.append(f"exception={type(exc).__name__},msg=thread call failed")


def start_thread(thr_func: Any, args_list: Any) -> tuple[int, int]:
    if not callable(thr_func):
        raise TypeError("parameter must be callable")
    errors: list[str] = []
    t = threading.Thread(target=_body, args=(thr_func, args_list, errors), name="acl.util.start_thread",
                         daemon=True)
    try:
        t.start()
    except RuntimeError:  # "can't start new thread": pthread_create's EAGAIN
        return 0, errno.EAGAIN
    ident = int(t.ident or 0)
    with _lock:
        _started[ident] = _Started(t, errors)
    return ident, 0


def stop_thread(thr_id: Any) -> int:
    tid = unsigned(thr_id, "acl.util.stop_thread")
    if tid == threading.get_ident():
        return errno.EDEADLK
    with _lock:
        started = _started.pop(tid, None)
    if started is None:
        return errno.ESRCH
    started.thread.join()
    if started.errors:
        raise RuntimeError("".join(f"{e};" for e in started.errors))
    return 0


def running() -> list[int]:
    """Threads `start_thread` started that are still running (not yet joined)."""
    with _lock:
        return [tid for tid, s in _started.items() if s.thread.is_alive()]


def is_thread(thread_id: int) -> bool:
    """True for a live thread of this process (any Python thread, not only ours)."""
    return any(t.ident == thread_id for t in threading.enumerate())


__all__ = ["is_thread", "running", "start_thread", "stop_thread"]
