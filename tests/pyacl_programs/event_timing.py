"""Timing inference with events, the way benchmark scripts do: a few warm-up runs, then each
run bracketed by two recorded events on the stream, synchronize_event on the end event, and
event_elapsed_time for the device time of the run.

usage: event_timing.py MODEL.om OUT.npz RUNS
"""
import sys
import time

import acl
import numpy as np

WARMUP = 2


def must(ret, what):
    if ret:
        raise SystemExit(f"{what}: error {ret} ({acl.get_recent_err_msg()})")


def setup(path):
    must(acl.init(), "acl.init")
    must(acl.rt.set_device(0), "acl.rt.set_device")
    ctx, ret = acl.rt.create_context(0)
    must(ret, "acl.rt.create_context")
    stream, ret = acl.rt.create_stream()
    must(ret, "acl.rt.create_stream")
    model_id, ret = acl.mdl.load_from_file(path)
    must(ret, "acl.mdl.load_from_file")
    desc = acl.mdl.create_desc()
    must(acl.mdl.get_desc(desc, model_id), "acl.mdl.get_desc")
    return ctx, stream, model_id, desc


def dataset(desc, count, size_of):
    ds, pointers = acl.mdl.create_dataset(), []
    for i in range(count):
        size = size_of(desc, i)
        ptr, ret = acl.rt.malloc(size, 0)
        must(ret, "acl.rt.malloc")
        _, ret = acl.mdl.add_dataset_buffer(ds, acl.create_data_buffer(ptr, size))
        must(ret, "acl.mdl.add_dataset_buffer")
        pointers.append((ptr, size))
    return ds, pointers


def main():
    path, out_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ctx, stream, model_id, desc = setup(path)
    inputs, in_ptrs = dataset(desc, acl.mdl.get_num_inputs(desc), acl.mdl.get_input_size_by_index)
    outputs, out_ptrs = dataset(desc, acl.mdl.get_num_outputs(desc), acl.mdl.get_output_size_by_index)
    start, ret = acl.rt.create_event()
    must(ret, "acl.rt.create_event")
    end, ret = acl.rt.create_event_with_flag(0x8)  # ACL_EVENT_TIME_LINE
    must(ret, "acl.rt.create_event_with_flag")
    frame = np.linspace(-1, 1, in_ptrs[0][1] // 4, dtype=np.float32)
    data = frame.tobytes()
    must(acl.rt.memcpy(in_ptrs[0][0], in_ptrs[0][1], acl.util.bytes_to_ptr(data), len(data), 1), "memcpy h2d")

    device_ms, host_ms = [], []
    for i in range(WARMUP + runs):
        t0 = time.perf_counter()
        must(acl.rt.record_event(start, stream), "acl.rt.record_event")
        must(acl.mdl.execute_async(model_id, inputs, outputs, stream), "acl.mdl.execute_async")
        must(acl.rt.record_event(end, stream), "acl.rt.record_event")
        must(acl.rt.synchronize_event(end), "acl.rt.synchronize_event")
        status, ret = acl.rt.query_event_status(end)
        must(ret, "acl.rt.query_event_status")
        assert status == 1, "ACL_EVENT_RECORDED_STATUS_COMPLETE after synchronize_event"
        ms, ret = acl.rt.event_elapsed_time(start, end)
        must(ret, "acl.rt.event_elapsed_time")
        if i >= WARMUP:
            device_ms.append(ms)
            host_ms.append((time.perf_counter() - t0) * 1000)

    out_ptr, out_size = out_ptrs[0]
    host = bytes(out_size)
    must(acl.rt.memcpy(acl.util.bytes_to_ptr(host), out_size, out_ptr, out_size, 2), "memcpy d2h")
    print(f"{runs} runs: mean {np.mean(device_ms):.3f} ms on the device, {np.mean(host_ms):.3f} ms on the host")

    for e in (start, end):
        must(acl.rt.destroy_event(e), "acl.rt.destroy_event")
    for ds, ptrs in ((inputs, in_ptrs), (outputs, out_ptrs)):
        for i in range(acl.mdl.get_dataset_num_buffers(ds)):
            must(acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(ds, i)), "acl.destroy_data_buffer")
        must(acl.mdl.destroy_dataset(ds), "acl.mdl.destroy_dataset")
        for ptr, _ in ptrs:
            must(acl.rt.free(ptr), "acl.rt.free")
    must(acl.mdl.destroy_desc(desc), "acl.mdl.destroy_desc")
    must(acl.mdl.unload(model_id), "acl.mdl.unload")
    must(acl.rt.destroy_stream(stream), "acl.rt.destroy_stream")
    must(acl.rt.destroy_context(ctx), "acl.rt.destroy_context")
    must(acl.rt.reset_device(0), "acl.rt.reset_device")
    must(acl.finalize(), "acl.finalize")
    np.savez(out_path, device_ms=np.array(device_ms), host_ms=np.array(host_ms), input=frame,
             output=np.frombuffer(host, np.uint8))


if __name__ == "__main__":
    main()
