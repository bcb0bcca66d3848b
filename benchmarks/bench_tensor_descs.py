"""What reading a shape through the pyACL image's tensor-desc calls costs over the bare backend
calls (simulator), measured side by side in one run.

Run: python benchmarks/bench_tensor_descs.py [--runs 3000] [--dims 4]

A dynamic-shape program reads each output's dims with ``get_tensor_desc_num_dims`` and one
``get_tensor_desc_dim_v2`` per dim. The image checks every desc against its ledger first, and
a desc a dataset entry owns is re-asked of the runtime (a run replaces it), so such a desc costs
one backend call more per getter. Printed: the median microseconds to read a `--dims`-dim shape
from a desc the program created and from a dataset entry's own desc, through ``import acl``
and as bare backend calls through the session's pass-through, and the ratios.
"""

from __future__ import annotations

import argparse

from bench_pyacl import median_us  # the same timer as the image's other benchmarks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--dims", type=int, default=4)
    args = parser.parse_args()

    from acl_notebook import pyacl
    from acl_notebook.pyacl.core import PROGRAM
    from acl_notebook.session import Config, Session

    session = Session(Config(backend="sim"))
    assert pyacl.install(force=True, session=session).installed
    import acl

    acl.init()
    acl.rt.set_device(0)
    shape = [2 + i for i in range(args.dims)]
    own = acl.create_tensor_desc(0, shape, 2)
    dataset = acl.mdl.create_dataset()
    acl.mdl.add_dataset_buffer(dataset, acl.create_data_buffer(0, 0))
    acl.mdl.set_dataset_tensor_desc(dataset, own, 0)
    entry = acl.mdl.get_dataset_tensor_desc(dataset, 0)
    bridge = PROGRAM.bridge

    def image(desc: int) -> list:
        return [acl.get_tensor_desc_dim_v2(desc, i)[0] for i in range(acl.get_tensor_desc_num_dims(desc))]

    def bare(desc: int) -> list:
        return [bridge.call("tensor_desc_dim", desc, i) for i in range(bridge.call("tensor_desc_num_dims", desc))]

    assert image(own) == bare(own) == image(entry) == shape
    rows = []
    for label, desc in (("a desc the program created", own), ("a dataset entry's own desc", entry)):
        through, direct = [], []
        for _ in range(3):  # alternate, so load on the machine hits both alike
            through.append(median_us(lambda d=desc: image(d), args.runs))
            direct.append(median_us(lambda d=desc: bare(d), args.runs))
        rows.append((label, min(through), min(direct)))
    for label, through, direct in rows:
        print(f"{args.dims}-dim shape from {label}: image {through:.1f} us, bare backend calls {direct:.1f} us "
              f"({through / direct:.2f}x)")
    pyacl.uninstall()
    session.shutdown()


if __name__ == "__main__":
    main()
