"""A wrapper that releases its datasets in __del__, left to interpreter exit (as wrappers that
rely on garbage collection are): it walks each dataset with the getters, destroys the buffers
and the dataset, and prints what the getters said, during a run and at exit. Kept by the
script, it goes with the script's module; with ``elsewhere`` it is kept by its own module
(walk_wrapper), so it goes only when the interpreter clears every module, after
acl-notebook's runtime has shut down.

usage: del_walks_datasets.py MODEL.om [elsewhere]
"""
import sys

import acl
import walk_wrapper
from walk_wrapper import Wrapper

assert acl.init() == 0 and acl.rt.set_device(0) == 0
if sys.argv[2:] == ["elsewhere"]:
    walk_wrapper.keep = Wrapper(sys.argv[1])
else:
    keep = Wrapper(sys.argv[1])
