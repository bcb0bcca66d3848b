"""A double-buffered stream pipeline: two streams take turns, each with its own page-locked
staging buffers; a frame is staged with memcpy_async, run with execute_async and copied back
with memcpy_async, all on its stream, and read only after synchronize_stream.

usage: copy_pipeline.py MODEL.om OUT.npz FRAMES [--forget-sync]
With --forget-sync the program reads the staging buffers before synchronizing (the classic
bug): it sees whatever they held before, as on a device.
"""
import sys

import acl
import numpy as np

HUGE_FIRST, H2D, D2H = 0, 1, 2
SENTINEL = 0x7F


def ok(ret, what):
    if ret != 0:
        sys.exit(f"{what} failed with {ret}: {acl.get_recent_err_msg()}")


def alloc(size, host):
    ptr, ret = acl.rt.malloc_host(size) if host else acl.rt.malloc(size, HUGE_FIRST)
    ok(ret, "malloc_host" if host else "malloc")
    return ptr


class Lane:
    """One stream and the buffers a frame needs on it."""

    def __init__(self, model_id, in_size, out_size):
        self.model_id, self.in_size, self.out_size = model_id, in_size, out_size
        self.stream, ret = acl.rt.create_stream()
        ok(ret, "create_stream")
        self.host_in, self.host_out = alloc(in_size, True), alloc(out_size, True)
        self.dev_in, self.dev_out = alloc(in_size, False), alloc(out_size, False)
        self.buffers = [acl.create_data_buffer(self.dev_in, in_size), acl.create_data_buffer(self.dev_out, out_size)]
        self.inputs, self.outputs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
        ok(acl.mdl.add_dataset_buffer(self.inputs, self.buffers[0])[1], "add_dataset_buffer")
        ok(acl.mdl.add_dataset_buffer(self.outputs, self.buffers[1])[1], "add_dataset_buffer")
        ok(acl.rt.memset(self.host_out, out_size, SENTINEL, out_size), "memset")

    def launch(self, frame):
        data = np.ascontiguousarray(frame).tobytes()
        ok(acl.rt.memcpy(self.host_in, self.in_size, acl.util.bytes_to_ptr(data), len(data), 0), "memcpy")
        ok(acl.rt.memcpy_async(self.dev_in, self.in_size, self.host_in, self.in_size, H2D, self.stream),
           "memcpy_async h2d")
        ok(acl.mdl.execute_async(self.model_id, self.inputs, self.outputs, self.stream), "execute_async")
        ok(acl.rt.memcpy_async(self.host_out, self.out_size, self.dev_out, self.out_size, D2H, self.stream),
           "memcpy_async d2h")

    def result(self, wait=True):
        if wait:
            ok(acl.rt.synchronize_stream(self.stream), "synchronize_stream")
        return np.frombuffer(acl.util.ptr_to_bytes(self.host_out, self.out_size), np.float32).copy()

    def close(self):
        for b in self.buffers:
            ok(acl.destroy_data_buffer(b), "destroy_data_buffer")
        for ds in (self.inputs, self.outputs):
            ok(acl.mdl.destroy_dataset(ds), "destroy_dataset")
        for p in (self.dev_in, self.dev_out):
            ok(acl.rt.free(p), "free")
        for p in (self.host_in, self.host_out):
            ok(acl.rt.free_host(p), "free_host")
        ok(acl.rt.destroy_stream(self.stream), "destroy_stream")


def main():
    path, out_path, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wait = "--forget-sync" not in sys.argv[4:]
    ok(acl.init(), "init")
    ok(acl.rt.set_device(0), "set_device")
    context, ret = acl.rt.create_context(0)
    ok(ret, "create_context")
    model_id, ret = acl.mdl.load_from_file(path)
    ok(ret, "load_from_file")
    desc = acl.mdl.create_desc()
    ok(acl.mdl.get_desc(desc, model_id), "get_desc")
    shape = tuple(acl.mdl.get_input_dims(desc, 0)[0]["dims"])
    lanes = [Lane(model_id, acl.mdl.get_input_size_by_index(desc, 0), acl.mdl.get_output_size_by_index(desc, 0))
             for _ in range(2)]
    rng = np.random.default_rng(11)
    inputs = [rng.standard_normal(shape).astype(np.float32) for _ in range(frames)]
    outputs = []
    for start in range(0, frames, len(lanes)):
        batch = list(zip(lanes, inputs[start: start + len(lanes)]))
        for lane, frame in batch:  # both lanes are in flight before either is waited for
            lane.launch(frame)
        outputs += [lane.result(wait) for lane, _ in batch]
    for lane in lanes:
        lane.close()
    ok(acl.mdl.destroy_desc(desc), "destroy_desc")
    ok(acl.mdl.unload(model_id), "unload")
    ok(acl.rt.destroy_context(context), "destroy_context")
    ok(acl.rt.reset_device(0), "reset_device")
    ok(acl.finalize(), "finalize")
    np.savez(out_path, inputs=np.stack(inputs), outputs=np.stack(outputs))
    print(f"{frames} frames through {len(lanes)} streams")


if __name__ == "__main__":
    main()
