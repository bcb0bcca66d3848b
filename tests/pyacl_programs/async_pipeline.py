"""An asynchronous pipeline: frames staged in page-locked host memory (malloc_host), the
model queued on a stream with execute_async, the results read only after
synchronize_stream, a worker thread that binds the program's context to itself.

usage: async_pipeline.py MODEL.om OUT.npz FRAMES
"""
import sys
import threading

import acl
import numpy as np

ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2


def check(ret, what):
    if ret != 0:
        raise RuntimeError(f"{what} returned {ret}: {acl.get_recent_err_msg()}")


class Pipeline:
    def __init__(self, path):
        check(acl.init(), "acl.init")
        check(acl.rt.set_device(0), "set_device")
        self.context, ret = acl.rt.create_context(0)
        check(ret, "create_context")
        self.stream, ret = acl.rt.create_stream()
        check(ret, "create_stream")
        self.model_id, ret = acl.mdl.load_from_file(path)
        check(ret, "load_from_file")
        self.desc = acl.mdl.create_desc()
        check(acl.mdl.get_desc(self.desc, self.model_id), "get_desc")
        self.in_size = acl.mdl.get_input_size_by_index(self.desc, 0)
        self.out_size = acl.mdl.get_output_size_by_index(self.desc, 0)
        self.host_in, ret = acl.rt.malloc_host(self.in_size)
        check(ret, "malloc_host")
        self.host_out, ret = acl.rt.malloc_host(self.out_size)
        check(ret, "malloc_host")
        self.dev_in, ret = acl.rt.malloc(self.in_size, ACL_MEM_MALLOC_HUGE_FIRST)
        check(ret, "malloc")
        self.dev_out, ret = acl.rt.malloc(self.out_size, ACL_MEM_MALLOC_HUGE_FIRST)
        check(ret, "malloc")
        self.inputs, self.outputs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
        self.buffers = [acl.create_data_buffer(self.dev_in, self.in_size),
                        acl.create_data_buffer(self.dev_out, self.out_size)]
        check(acl.mdl.add_dataset_buffer(self.inputs, self.buffers[0])[1], "add_dataset_buffer")
        check(acl.mdl.add_dataset_buffer(self.outputs, self.buffers[1])[1], "add_dataset_buffer")

    def infer(self, frame):
        data = frame.tobytes()
        check(acl.rt.memcpy(self.host_in, self.in_size, acl.util.bytes_to_ptr(data), len(data), 0), "memcpy h2h")
        check(acl.rt.memcpy(self.dev_in, self.in_size, self.host_in, self.in_size, ACL_MEMCPY_HOST_TO_DEVICE),
              "memcpy h2d")
        check(acl.mdl.execute_async(self.model_id, self.inputs, self.outputs, self.stream), "execute_async")
        check(acl.rt.synchronize_stream(self.stream), "synchronize_stream")
        check(acl.rt.memcpy(self.host_out, self.out_size, self.dev_out, self.out_size, ACL_MEMCPY_DEVICE_TO_HOST),
              "memcpy d2h")
        return np.frombuffer(acl.util.ptr_to_bytes(self.host_out, self.out_size), dtype=np.float32)

    def release(self):
        for b in self.buffers:
            check(acl.destroy_data_buffer(b), "destroy_data_buffer")
        check(acl.mdl.destroy_dataset(self.inputs), "destroy_dataset")
        check(acl.mdl.destroy_dataset(self.outputs), "destroy_dataset")
        check(acl.rt.free(self.dev_in), "free")
        check(acl.rt.free(self.dev_out), "free")
        check(acl.rt.free_host(self.host_in), "free_host")
        check(acl.rt.free_host(self.host_out), "free_host")
        check(acl.mdl.unload(self.model_id), "unload")
        check(acl.mdl.destroy_desc(self.desc), "destroy_desc")
        check(acl.rt.destroy_stream(self.stream), "destroy_stream")
        check(acl.rt.destroy_context(self.context), "destroy_context")
        check(acl.rt.reset_device(0), "reset_device")
        check(acl.finalize(), "finalize")


def main():
    path, out_path, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pipe = Pipeline(path)
    dims, _ = acl.mdl.get_input_dims(pipe.desc, 0)
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal(tuple(dims["dims"])).astype(np.float32) for _ in range(frames)]
    results = [None] * frames

    def worker():
        check(acl.rt.set_context(pipe.context), "set_context")  # contexts are per thread
        for i, frame in enumerate(inputs):
            results[i] = pipe.infer(frame)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    print(f"{frames} frames through the stream")
    pipe.release()
    np.savez(out_path, inputs=np.stack(inputs), outputs=np.stack(results))


if __name__ == "__main__":
    main()
