"""Op families of the CPU reference; importing this package registers every planner.

One module per family, each a handful of small planners (see `..registry`). Kernels take
and return **logical** arrays (the framework's layout, read from each descriptor's
``origin_format``), compute in float32, and leave rounding to the output dtype to the
interpreter.
"""

from . import conv, convert, elementwise, fused, matmul, pool, resize, runtime, shape  # noqa: F401
