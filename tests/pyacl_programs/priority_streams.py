"""A scheduler in the style of the public serving backends that map request priorities to
streams: ask acl.rt.device_get_stream_priority_range for (least, greatest), make one stream
per priority with create_stream_with_config, run a request on the greatest and on the least
priority stream with execute_async, and save what each read back.

usage: priority_streams.py MODEL.om OUT.npz
"""
import sys

import acl
import numpy as np

H2D, D2H = 1, 2


def check(what, ret):
    if ret != 0:
        raise RuntimeError(f"{what} failed ret={ret}")


def main(model_path, out):
    check("init", acl.init())
    check("set_device", acl.rt.set_device(0))
    least, greatest, ret = acl.rt.device_get_stream_priority_range()
    check("device_get_stream_priority_range", ret)
    print(f"priority range: least {least}, greatest {greatest}")
    streams = {}
    for priority in range(min(least, greatest), max(least, greatest) + 1):
        streams[priority], ret = acl.rt.create_stream_with_config(priority, 0)
        check("create_stream_with_config", ret)
    model_id, ret = acl.mdl.load_from_file(model_path)
    check("load_from_file", ret)
    desc = acl.mdl.create_desc()
    check("get_desc", acl.mdl.get_desc(desc, model_id))
    in_size, out_size = acl.mdl.get_input_size_by_index(desc, 0), acl.mdl.get_output_size_by_index(desc, 0)
    saved = {}
    for label, priority in (("greatest", greatest), ("least", least)):
        x = np.random.default_rng(priority).standard_normal(in_size // 4).astype(np.float32)
        dev_in, _ = acl.rt.malloc(in_size, 0)
        dev_out, _ = acl.rt.malloc(out_size, 0)
        check("memcpy", acl.rt.memcpy(dev_in, in_size, x.ctypes.data, in_size, H2D))
        ins, outs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
        acl.mdl.add_dataset_buffer(ins, acl.create_data_buffer(dev_in, in_size))
        acl.mdl.add_dataset_buffer(outs, acl.create_data_buffer(dev_out, out_size))
        check("execute_async", acl.mdl.execute_async(model_id, ins, outs, streams[priority]))
        check("synchronize_stream", acl.rt.synchronize_stream(streams[priority]))
        y = np.empty(out_size // 4, np.float32)
        check("memcpy", acl.rt.memcpy(y.ctypes.data, out_size, dev_out, out_size, D2H))
        saved[f"x_{label}"], saved[f"y_{label}"] = x, y
        for ds in (ins, outs):
            acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(ds, 0))
            acl.mdl.destroy_dataset(ds)
        acl.rt.free(dev_in)
        acl.rt.free(dev_out)
    np.savez(out, least=least, greatest=greatest, **saved)
    acl.mdl.destroy_desc(desc)
    acl.mdl.unload(model_id)
    for stream in streams.values():
        acl.rt.destroy_stream(stream)
    acl.rt.reset_device(0)
    acl.finalize()


if __name__ == "__main__":
    main(*sys.argv[1:])
