"""A classifier that hands pyACL the host pointers numpy and ctypes give it, as much code in
the wild does: the model bytes from ``np.fromfile(...).ctypes.data``, the input from
``arr.ctypes.data``, the output read back into ``arr.__array_interface__['data'][0]`` and a
``ctypes`` buffer by ``ctypes.addressof``. No acl.util converter anywhere.

usage: raw_pointers.py MODEL.om OUT.npz [SEED]
"""
import ctypes
import sys

import acl
import numpy as np

ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2


def check(what, ret):
    if ret != 0:
        raise RuntimeError(f"{what} failed: {ret} {acl.get_recent_err_msg()}")


def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    check("init", acl.init())
    check("set_device", acl.rt.set_device(0))
    context, ret = acl.rt.create_context(0)
    check("create_context", ret)

    blob = np.fromfile(model_path, dtype=np.uint8)
    model_id, ret = acl.mdl.load_from_mem(blob.ctypes.data, blob.nbytes)
    check("load_from_mem", ret)
    del blob  # ACL copied the model

    desc = acl.mdl.create_desc()
    check("get_desc", acl.mdl.get_desc(desc, model_id))
    in_size = acl.mdl.get_input_size_by_index(desc, 0)
    out_size = acl.mdl.get_output_size_by_index(desc, 0)
    dev_in, ret = acl.rt.malloc(in_size, ACL_MEM_MALLOC_HUGE_FIRST)
    check("malloc", ret)
    dev_out, ret = acl.rt.malloc(out_size, ACL_MEM_MALLOC_HUGE_FIRST)
    check("malloc", ret)
    inputs, outputs = acl.mdl.create_dataset(), acl.mdl.create_dataset()
    in_buf, out_buf = acl.create_data_buffer(dev_in, in_size), acl.create_data_buffer(dev_out, out_size)
    check("add", acl.mdl.add_dataset_buffer(inputs, in_buf)[1])
    check("add", acl.mdl.add_dataset_buffer(outputs, out_buf)[1])

    dims, _ = acl.mdl.get_input_dims(desc, 0)
    image = np.random.default_rng(seed).standard_normal(tuple(dims["dims"])).astype(np.float32)
    check("memcpy in", acl.rt.memcpy(dev_in, in_size, image.ctypes.data, image.nbytes, ACL_MEMCPY_HOST_TO_DEVICE))
    check("execute", acl.mdl.execute(model_id, inputs, outputs))

    prob = np.empty(out_size // 4, dtype=np.float32)
    address = prob.__array_interface__["data"][0]
    check("memcpy out", acl.rt.memcpy(address, prob.nbytes, dev_out, out_size, ACL_MEMCPY_DEVICE_TO_HOST))
    raw = (ctypes.c_char * out_size)()
    check("memcpy out", acl.rt.memcpy(ctypes.addressof(raw), out_size, dev_out, out_size, ACL_MEMCPY_DEVICE_TO_HOST))
    same = bytes(raw) == prob.tobytes()
    print("top1:", int(np.argmax(prob)), "same:", same)

    for b in (in_buf, out_buf):
        check("destroy_data_buffer", acl.destroy_data_buffer(b))
    for ds in (inputs, outputs):
        check("destroy_dataset", acl.mdl.destroy_dataset(ds))
    for p in (dev_in, dev_out):
        check("free", acl.rt.free(p))
    check("unload", acl.mdl.unload(model_id))
    check("destroy_desc", acl.mdl.destroy_desc(desc))
    check("destroy_context", acl.rt.destroy_context(context))
    check("reset_device", acl.rt.reset_device(0))
    check("finalize", acl.finalize())
    np.savez(out_path, input0=image, output0=prob)


if __name__ == "__main__":
    main()
