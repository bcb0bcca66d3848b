"""acl-notebook: load Ascend offline models from memory in Jupyter.

Public API (see README): `inspect`, `configure`, `load`, `models`, `find`, `unload`, `unload_all`,
`memory`, `host_memory`, `utilization`, `info`, `socs`, `panel`, `run`, `bench`, `reference`, `coverage`, `compare`,
and the types `Model`, `ModelInfo`, `TensorDesc`, `Outputs`, `BenchResult`, `Comparison`, `HostMemory`, `ModelGroup`
(one model on several devices), with the errors `OMFormatError`, `AclError`, `DeviceMemoryError`,
`HostMemoryError`, `OverrideError`, `ReferenceLimitError`, `GroupLoadError`; and `cluster`, the Ray
cluster of NPUs (`acl_notebook.cluster`, imported on first use; Ray only when a cluster starts).

``%load_ext acl_notebook`` registers the ``%acl_*`` magics. Names are resolved lazily so
that importing the package (and so ``%load_ext``) stays cheap: numpy, protobuf,
matplotlib and ipywidgets are imported only by the calls that need them.
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "inspect": "acl_notebook.om.reader",
    "ModelInfo": "acl_notebook.om.model",
    "TensorDesc": "acl_notebook.om.model",
    "OMFormatError": "acl_notebook.om.errors",
    "AclError": "acl_notebook.runtime.errors",
    "configure": "acl_notebook.api",
    "load": "acl_notebook.api",
    "models": "acl_notebook.api",
    "unload": "acl_notebook.api",
    "find": "acl_notebook.api",
    "unload_all": "acl_notebook.api",
    "memory": "acl_notebook.api",
    "info": "acl_notebook.api",
    "host_memory": "acl_notebook.api",
    "HostMemory": "acl_notebook.hostmemory",
    "utilization": "acl_notebook.api",
    "socs": "acl_notebook.api",
    "panel": "acl_notebook.api",
    "cluster": "acl_notebook.cluster",
    "run": "acl_notebook.api",
    "bench": "acl_notebook.api",
    "random_inputs": "acl_notebook.api",
    "reference": "acl_notebook.api",
    "coverage": "acl_notebook.api",
    "compare": "acl_notebook.api",
    "Comparison": "acl_notebook.comparison",
    "OverrideError": "acl_notebook.cpu_reference.interpreter",
    "ReferenceLimitError": "acl_notebook.cpu_reference.budget",
    "Outputs": "acl_notebook.runner.outputs",
    "BenchResult": "acl_notebook.runner.bench",
    "Model": "acl_notebook.session",
    "ModelGroup": "acl_notebook.group",
    "GroupLoadError": "acl_notebook.group",
    "DeviceMemoryError": "acl_notebook.session",
    "HostMemoryError": "acl_notebook.session",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


def load_ipython_extension(ipython) -> None:
    """Called by ``%load_ext acl_notebook``: registers the ``%acl_*`` magics."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython) -> None:
    """Called by ``%unload_ext acl_notebook``: removes the magics, tears the session down."""
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)
