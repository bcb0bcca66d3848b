"""A classifier that loads its model through a config handle, as the samples with a memory
pool do: query the model's needs, allocate work and weight memory itself, fill a config
(load type, path or address, the memory, a priority), load_with_config, destroy the config,
then run a few images and read the outputs back.

usage: config_load.py MODEL.om OUT.npz MODE PRIORITY COUNT
MODE: file | file_with_mem | mem | mem_with_mem
"""
import sys

import acl
import numpy as np

ACL_MDL_PRIORITY_INT32 = 0
ACL_MDL_LOAD_TYPE_SIZET = 1
ACL_MDL_PATH_PTR = 2
ACL_MDL_MEM_ADDR_PTR = 3
ACL_MDL_MEM_SIZET = 4
ACL_MDL_WEIGHT_ADDR_PTR = 5
ACL_MDL_WEIGHT_SIZET = 6
ACL_MDL_WORKSPACE_ADDR_PTR = 7
ACL_MDL_WORKSPACE_SIZET = 8
ACL_MDL_WORKSPACE_MEM_OPTIMIZE = 13
LOAD_TYPES = {"file": 1, "file_with_mem": 2, "mem": 3, "mem_with_mem": 4}
ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2


def check_ret(message, ret):
    if ret != 0:
        raise Exception(f"{message} failed ret={ret}: {acl.get_recent_err_msg()}")


class MemoryPool:
    """Work and weight memory the program owns for the model's whole life."""

    def __init__(self):
        self.work_ptr = self.weight_ptr = 0

    def allocate(self, work_size, weight_size):
        if work_size:
            self.work_ptr, ret = acl.rt.malloc(work_size, ACL_MEM_MALLOC_HUGE_FIRST)
            check_ret("acl.rt.malloc", ret)
        self.weight_ptr, ret = acl.rt.malloc(weight_size, ACL_MEM_MALLOC_HUGE_FIRST)
        check_ret("acl.rt.malloc", ret)

    def free_all(self):
        for ptr in (self.work_ptr, self.weight_ptr):
            if ptr:
                check_ret("acl.rt.free", acl.rt.free(ptr))
        self.work_ptr = self.weight_ptr = 0


class Net:
    def __init__(self, model_path, mode, priority):
        self.model_path, self.mode, self.priority = model_path, mode, priority
        self.pool = MemoryPool()
        self.model_bytes = None
        check_ret("acl.init", acl.init())
        check_ret("acl.rt.set_device", acl.rt.set_device(0))
        self.context, ret = acl.rt.create_context(0)
        check_ret("acl.rt.create_context", ret)
        self.load_model()
        self.model_desc = acl.mdl.create_desc()
        check_ret("acl.mdl.get_desc", acl.mdl.get_desc(self.model_desc, self.model_id))
        self.in_size = acl.mdl.get_input_size_by_index(self.model_desc, 0)
        self.out_size = acl.mdl.get_output_size_by_index(self.model_desc, 0)
        self.in_ptr, ret = acl.rt.malloc(self.in_size, ACL_MEM_MALLOC_HUGE_FIRST)
        check_ret("acl.rt.malloc", ret)
        self.out_ptr, ret = acl.rt.malloc(self.out_size, ACL_MEM_MALLOC_HUGE_FIRST)
        check_ret("acl.rt.malloc", ret)
        self.input_dataset = self._dataset(self.in_ptr, self.in_size)
        self.output_dataset = self._dataset(self.out_ptr, self.out_size)

    def load_model(self):
        options = [(ACL_MDL_LOAD_TYPE_SIZET, LOAD_TYPES[self.mode]), (ACL_MDL_PRIORITY_INT32, self.priority)]
        if self.mode.startswith("file"):
            options.append((ACL_MDL_PATH_PTR, self.model_path))
            work_size, weight_size, ret = acl.mdl.query_size(self.model_path)
        else:
            with open(self.model_path, "rb") as f:
                self.model_bytes = f.read()
            ptr = acl.util.bytes_to_ptr(self.model_bytes)
            options += [(ACL_MDL_MEM_ADDR_PTR, ptr), (ACL_MDL_MEM_SIZET, len(self.model_bytes))]
            work_size, weight_size, ret = acl.mdl.query_size_from_mem(ptr, len(self.model_bytes))
        check_ret("acl.mdl.query_size", ret)
        if self.mode.endswith("with_mem"):
            self.pool.allocate(work_size, weight_size)
            options += [(ACL_MDL_WORKSPACE_ADDR_PTR, self.pool.work_ptr), (ACL_MDL_WORKSPACE_SIZET, work_size),
                        (ACL_MDL_WEIGHT_ADDR_PTR, self.pool.weight_ptr), (ACL_MDL_WEIGHT_SIZET, weight_size)]
        else:
            options.append((ACL_MDL_WORKSPACE_MEM_OPTIMIZE, 1))
        config_handle = acl.mdl.create_config_handle()
        for attr, value in options:
            check_ret(f"acl.mdl.set_config_opt({attr})", acl.mdl.set_config_opt(config_handle, attr, value))
        self.model_id, ret = acl.mdl.load_with_config(config_handle)
        check_ret("acl.mdl.load_with_config", ret)
        check_ret("acl.mdl.destroy_config_handle", acl.mdl.destroy_config_handle(config_handle))

    @staticmethod
    def _dataset(ptr, size):
        dataset = acl.mdl.create_dataset()
        buffer = acl.create_data_buffer(ptr, size)
        _, ret = acl.mdl.add_dataset_buffer(dataset, buffer)
        check_ret("acl.mdl.add_dataset_buffer", ret)
        return dataset

    def run(self, image):
        data = np.ascontiguousarray(image, dtype=np.float32).tobytes()
        ret = acl.rt.memcpy(self.in_ptr, self.in_size, acl.util.bytes_to_ptr(data), len(data),
                            ACL_MEMCPY_HOST_TO_DEVICE)
        check_ret("acl.rt.memcpy", ret)
        check_ret("acl.mdl.execute", acl.mdl.execute(self.model_id, self.input_dataset, self.output_dataset))
        host = bytes(self.out_size)
        ret = acl.rt.memcpy(acl.util.bytes_to_ptr(host), self.out_size, self.out_ptr, self.out_size,
                            ACL_MEMCPY_DEVICE_TO_HOST)
        check_ret("acl.rt.memcpy", ret)
        return np.frombuffer(host, dtype=np.float32).reshape(1, -1)

    def release(self):
        for dataset in (self.input_dataset, self.output_dataset):
            for i in range(acl.mdl.get_dataset_num_buffers(dataset)):
                check_ret("acl.destroy_data_buffer", acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(dataset, i)))
            check_ret("acl.mdl.destroy_dataset", acl.mdl.destroy_dataset(dataset))
        check_ret("acl.rt.free", acl.rt.free(self.in_ptr))
        check_ret("acl.rt.free", acl.rt.free(self.out_ptr))
        check_ret("acl.mdl.destroy_desc", acl.mdl.destroy_desc(self.model_desc))
        check_ret("acl.mdl.unload", acl.mdl.unload(self.model_id))
        self.pool.free_all()  # the model is gone: its work and weight memory can go too
        check_ret("acl.rt.destroy_context", acl.rt.destroy_context(self.context))
        check_ret("acl.rt.reset_device", acl.rt.reset_device(0))
        check_ret("acl.finalize", acl.finalize())


def main():
    model_path, out_path, mode = sys.argv[1:4]
    priority, count = int(sys.argv[4]), int(sys.argv[5])
    net = Net(model_path, mode, priority)
    rng = np.random.default_rng(7)
    saved = {}
    for n in range(count):
        image = rng.standard_normal((1, 3, 16, 16)).astype(np.float32)
        saved[f"input{n}"], saved[f"output{n}"] = image, net.run(image)
    net.release()
    np.savez(out_path, **saved)
    print(f"{mode}: {count} images, model {net.model_id}")


if __name__ == "__main__":
    main()
