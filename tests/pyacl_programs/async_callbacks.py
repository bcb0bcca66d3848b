"""Asynchronous inference with a callback thread: frames queued with execute_async, a host
callback launched after each, and a thread started with acl.util.start_thread that loops in
acl.rt.process_report and runs them; each callback copies its frame's output back and keeps it.
Every frame has its own input and output buffers, so nothing waits between launches.

usage: async_callbacks.py MODEL.om OUT.npz FRAMES BLOCK_TYPE
"""
import sys

import acl
import numpy as np

ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2
REPORT_TIMEOUT_MS = 100


def check(ret, what):
    if ret != 0:
        raise RuntimeError(f"{what} returned {ret}: {acl.get_recent_err_msg()}")


class Frame:
    """One frame's device buffers and datasets."""

    def __init__(self, in_size, out_size):
        self.dev_in, ret = acl.rt.malloc(in_size, ACL_MEM_MALLOC_HUGE_FIRST)
        check(ret, "malloc")
        self.dev_out, ret = acl.rt.malloc(out_size, ACL_MEM_MALLOC_HUGE_FIRST)
        check(ret, "malloc")
        self.out_size = out_size
        self.buffers = [acl.create_data_buffer(self.dev_in, in_size), acl.create_data_buffer(self.dev_out, out_size)]
        self.inputs, self.outputs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
        check(acl.mdl.add_dataset_buffer(self.inputs, self.buffers[0])[1], "add_dataset_buffer")
        check(acl.mdl.add_dataset_buffer(self.outputs, self.buffers[1])[1], "add_dataset_buffer")

    def release(self):
        for b in self.buffers:
            check(acl.destroy_data_buffer(b), "destroy_data_buffer")
        check(acl.mdl.destroy_dataset(self.inputs), "destroy_dataset")
        check(acl.mdl.destroy_dataset(self.outputs), "destroy_dataset")
        check(acl.rt.free(self.dev_in), "free")
        check(acl.rt.free(self.dev_out), "free")


class AsyncClassifier:
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
        self.results = {}
        self.callback_threads = set()
        self.exiting = False
        self.thread_id, ret = acl.util.start_thread(self.process_callbacks, [self.context, REPORT_TIMEOUT_MS])
        check(ret, "start_thread")
        check(acl.rt.subscribe_report(self.thread_id, self.stream), "subscribe_report")

    def process_callbacks(self, args):
        context, timeout = args
        check(acl.rt.set_context(context), "set_context")  # a new thread has no context
        while not self.exiting:
            acl.rt.process_report(timeout)  # 507012 when nothing came: look again

    def on_done(self, user_data):
        import threading

        index, frame = user_data
        host = bytes(frame.out_size)
        check(acl.rt.memcpy(acl.util.bytes_to_ptr(host), frame.out_size, frame.dev_out, frame.out_size,
                            ACL_MEMCPY_DEVICE_TO_HOST), "memcpy d2h")
        self.results[index] = np.frombuffer(host, dtype=np.float32).copy()
        self.callback_threads.add(threading.get_ident())

    def infer_all(self, images, block_type):
        frames = [Frame(self.in_size, self.out_size) for _ in images]
        for index, (image, frame) in enumerate(zip(images, frames)):
            data = image.tobytes()
            check(acl.rt.memcpy(frame.dev_in, self.in_size, acl.util.bytes_to_ptr(data), len(data),
                                ACL_MEMCPY_HOST_TO_DEVICE), "memcpy h2d")
            check(acl.mdl.execute_async(self.model_id, frame.inputs, frame.outputs, self.stream), "execute_async")
            check(acl.rt.launch_callback(self.on_done, [index, frame], block_type, self.stream), "launch_callback")
        check(acl.rt.synchronize_stream(self.stream), "synchronize_stream")
        check(acl.rt.unsubscribe_report(self.thread_id, self.stream), "unsubscribe_report")  # its callbacks ran
        for frame in frames:
            frame.release()
        return [self.results[i] for i in range(len(images))]

    def release(self):
        self.exiting = True
        check(acl.util.stop_thread(self.thread_id), "stop_thread")
        check(acl.mdl.unload(self.model_id), "unload")
        check(acl.mdl.destroy_desc(self.desc), "destroy_desc")
        check(acl.rt.destroy_stream(self.stream), "destroy_stream")
        check(acl.rt.destroy_context(self.context), "destroy_context")
        check(acl.rt.reset_device(0), "reset_device")
        check(acl.finalize(), "finalize")


def main():
    path, out_path, count, block_type = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    net = AsyncClassifier(path)
    dims, _ = acl.mdl.get_input_dims(net.desc, 0)
    rng = np.random.default_rng(11)
    images = [rng.standard_normal(tuple(dims["dims"])).astype(np.float32) for _ in range(count)]
    outputs = net.infer_all(images, block_type)
    on_callback_thread = net.callback_threads == {net.thread_id}
    net.release()
    print(f"{count} frames, callbacks on the callback thread: {on_callback_thread}")
    np.savez(out_path, inputs=np.stack(images), outputs=np.stack(outputs))


if __name__ == "__main__":
    main()
