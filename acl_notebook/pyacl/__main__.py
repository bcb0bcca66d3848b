"""``python -m acl_notebook.pyacl SCRIPT [ARGS...]`` (see `acl_notebook.pyacl.runner`)."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
