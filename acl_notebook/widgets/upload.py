"""What the panel does with a file the browser uploaded, before and around `acl.load`.

Kept apart from the widgets so the rules can be read (and tested) in one place: which
uploads are models at all, what a model uploaded as ``foo.om`` is called, and what the
panel says about the size limit. The bytes are never copied here: the widget hands us a
``memoryview`` into the kernel's receive buffer and that view goes to `acl.load` as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

from ..lab import JUPYTER_DEFAULT_LIMIT, upload_limit_in_force
from ..session import file_stem, unique_name

OM_MAGIC = b"IMOD"
OM_SUFFIX = ".om"


class UploadError(ValueError):
    """An uploaded file that is not something we can load; the message says why and what to do."""


@dataclass(frozen=True)
class Upload:
    """One picked file as the panel uses it: a model name, the original file name, the bytes."""

    filename: str
    name: str
    content: memoryview
    size: int

    @property
    def label(self) -> str:
        """The `Model.source` string for an upload."""
        return f"upload:{self.filename}"


def model_name(filename: str, taken: Iterable[str] = ()) -> str:
    """The file's stem (``"dir/resnet50.om"`` -> ``"resnet50"``), suffixed -2, -3... if taken."""
    return unique_name(file_stem(filename) or "model", taken)  # the session's rule for paths too


def _field(entry: Any, key: str, default: Any = None) -> Any:
    # ipywidgets 8 gives a traitlets Bunch (dict with attributes); tests may pass plain dicts
    if isinstance(entry, dict):
        return entry.get(key, default)
    return getattr(entry, key, default)


def check_upload(entry: Any, taken: Iterable[str] = ()) -> Upload:
    """Validate one ``FileUpload.value`` entry and return it as an `Upload`.

    Accepts a file that starts with the OM magic whatever its name, and any ``*.om`` (a
    damaged one is then refused by the reader with the exact reason). Everything else is
    refused here, before the runtime sees it, with a message naming the file.
    """
    filename = str(_field(entry, "name", "") or "unnamed file")
    content = _field(entry, "content")
    if content is None:
        raise UploadError(f"{filename!r}: the upload carried no data; pick the file again")
    view = content if isinstance(content, memoryview) else memoryview(content)
    size = view.nbytes
    declared = _field(entry, "size")
    if isinstance(declared, int) and declared != size:
        raise UploadError(
            f"{filename!r}: received {size} of {declared} bytes (the upload was cut short); "
            "pick the file again, or load it with %acl_load PATH"
        )
    if size == 0:
        raise UploadError(f"{filename!r} is empty (0 bytes); an .om model made by ATC is needed")
    is_om_name = filename.lower().endswith(OM_SUFFIX)
    if not is_om_name and bytes(view[: len(OM_MAGIC)]) != OM_MAGIC:
        raise UploadError(
            f"{filename!r} is not an .om model (it does not start with the OM magic {OM_MAGIC.decode()!r}); "
            "upload an offline model (.om) built by ATC"
        )
    return Upload(filename=filename, name=model_name(filename, taken), content=view, size=size)


def limit_note(limit: Optional[int] = None, *, from_env: bool = True) -> tuple[str, bool]:
    """The sentence shown beside the upload button, and whether it is a warning.

    `limit` is the websocket limit in force (bytes); by default it is read from the
    environment the server gave this kernel. Unknown means Jupyter's default 10 MiB: a
    bigger upload is dropped without any error we could catch, so we say it up front.
    """
    from ..display import human_bytes

    if limit is None and from_env:
        limit = upload_limit_in_force()
    if limit is None:
        return (
            f"Jupyter's default {human_bytes(JUPYTER_DEFAULT_LIMIT)} websocket limit: larger files vanish "
            "without an error — start with <code>acl-notebook lab</code>, or use <code>%acl_load PATH</code>",
            True,
        )
    return (
        f"Uploads up to {human_bytes(limit)} (websocket limit set by acl-notebook); "
        "bigger models: <code>%acl_load PATH</code>",
        False,
    )


__all__ = ["OM_MAGIC", "Upload", "UploadError", "check_upload", "limit_note", "model_name"]
