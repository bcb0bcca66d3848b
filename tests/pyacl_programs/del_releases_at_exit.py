"""A model wrapper that releases everything in __del__ and checks every code, left alive at
exit as "class Net" wrappers are: on a device ACL is still up while the interpreter tears the
script's module down, so each release answers 0. With ``atexit`` the program also registers an
exit handler that runs the model: it runs first, and since it holds the script's namespace the
wrapper goes only in the interpreter's own teardown, where ACL is still up too.

usage: del_releases_at_exit.py MODEL.om [atexit]
"""
import atexit
import sys

import acl


def check(what, ret):
    if ret != 0:
        raise RuntimeError(f"{what} failed ret={ret}")


class Net:
    def __init__(self, path):
        check("acl.init", acl.init())
        check("acl.rt.set_device", acl.rt.set_device(0))
        self.context, ret = acl.rt.create_context(0)
        check("acl.rt.create_context", ret)
        self.model_id, ret = acl.mdl.load_from_file(path)
        check("acl.mdl.load_from_file", ret)
        self.desc = acl.mdl.create_desc()
        check("acl.mdl.get_desc", acl.mdl.get_desc(self.desc, self.model_id))
        self.buffers, self.datasets = [], []
        for count, size_of in ((acl.mdl.get_num_inputs, acl.mdl.get_input_size_by_index),
                               (acl.mdl.get_num_outputs, acl.mdl.get_output_size_by_index)):
            dataset = acl.mdl.create_dataset()
            for i in range(count(self.desc)):
                size = size_of(self.desc, i)
                ptr, ret = acl.rt.malloc(size, 0)
                check("acl.rt.malloc", ret)
                self.buffers.append(ptr)
                _, ret = acl.mdl.add_dataset_buffer(dataset, acl.create_data_buffer(ptr, size))
                check("acl.mdl.add_dataset_buffer", ret)
            self.datasets.append(dataset)

    def forward(self):
        return acl.mdl.execute(self.model_id, *self.datasets)

    def __del__(self):
        codes = [acl.mdl.unload(self.model_id), acl.mdl.destroy_desc(self.desc)]
        for dataset in self.datasets:
            for i in range(acl.mdl.get_dataset_num_buffers(dataset)):
                codes.append(acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(dataset, i)))
            codes.append(acl.mdl.destroy_dataset(dataset))
        codes += [acl.rt.free(ptr) for ptr in self.buffers]
        codes += [acl.rt.destroy_context(self.context), acl.rt.reset_device(0), acl.finalize()]
        print("released", codes, flush=True)
        for code in codes:
            check("release", code)


net = Net(sys.argv[1])
check("acl.mdl.execute", net.forward())
if sys.argv[2:] == ["atexit"]:
    atexit.register(lambda: print("atexit execute", net.forward(), flush=True))
print("ran", flush=True)
