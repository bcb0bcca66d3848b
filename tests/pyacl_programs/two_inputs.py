"""A two-input model with dynamic dims (ATC --dynamic_dims): the gears are read with
get_input_dynamic_gear_count / get_input_dynamic_dims and one is set with
set_input_dynamic_dims; both inputs are fed from numpy arrays through bytes.

usage: two_inputs.py MODEL.om OUT.npz GEAR_INDEX
"""
import sys

import acl
import numpy as np

ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2
MBATCH = "ascend_mbatch_shape_data"


def must(ret, what):
    if ret:
        raise SystemExit(f"{what} failed: {ret} {acl.get_recent_err_msg()}")


def main():
    path, out_path, gear_index = sys.argv[1], sys.argv[2], int(sys.argv[3])
    must(acl.init(), "init")
    must(acl.rt.set_device(0), "set_device")
    ctx, ret = acl.rt.create_context(0)
    must(ret, "create_context")
    work, weight, ret = acl.mdl.query_size(path)
    must(ret, "query_size")
    print(f"model needs {work} work + {weight} weight bytes")
    model_id, ret = acl.mdl.load_from_file(path)
    must(ret, "load_from_file")
    desc = acl.mdl.create_desc()
    must(acl.mdl.get_desc(desc, model_id), "get_desc")
    count, ret = acl.mdl.get_input_dynamic_gear_count(desc, -1)
    must(ret, "get_input_dynamic_gear_count")
    gears, ret = acl.mdl.get_input_dynamic_dims(desc, -1, count)
    must(ret, "get_input_dynamic_dims")
    gear = gears[gear_index]
    print("gear:", gear["dims"])

    n_in = acl.mdl.get_num_inputs(desc)
    mbatch, ret = acl.mdl.get_input_index_by_name(desc, MBATCH)
    must(ret, "get_input_index_by_name")
    in_ds, out_ds = acl.mdl.create_dataset(), acl.mdl.create_dataset()
    allocations, arrays, offset = [], [], 0
    rng = np.random.default_rng(11)
    for i in range(n_in):
        size = acl.mdl.get_input_size_by_index(desc, i)
        ptr, ret = acl.rt.malloc(size, ACL_MEM_MALLOC_HUGE_FIRST)
        must(ret, "malloc")
        allocations.append(ptr)
        if i != mbatch:
            dims, _ = acl.mdl.get_input_dims(desc, i)
            shape = tuple(gear["dims"][offset: offset + dims["dimCount"]])
            offset += dims["dimCount"]
            x = rng.standard_normal(shape).astype(np.float32)
            data = x.tobytes()
            must(acl.rt.memcpy(ptr, size, acl.util.bytes_to_ptr(data), len(data), ACL_MEMCPY_HOST_TO_DEVICE),
                 "memcpy")
            arrays.append(x)
        _, ret = acl.mdl.add_dataset_buffer(in_ds, acl.create_data_buffer(ptr, size))
        must(ret, "add_dataset_buffer")
    out_size = acl.mdl.get_output_size_by_index(desc, 0)
    out_ptr, ret = acl.rt.malloc(out_size, ACL_MEM_MALLOC_HUGE_FIRST)
    must(ret, "malloc")
    allocations.append(out_ptr)
    _, ret = acl.mdl.add_dataset_buffer(out_ds, acl.create_data_buffer(out_ptr, out_size))
    must(ret, "add_dataset_buffer")

    must(acl.mdl.set_input_dynamic_dims(model_id, in_ds, mbatch, gear), "set_input_dynamic_dims")
    must(acl.mdl.execute(model_id, in_ds, out_ds), "execute")
    cur, ret = acl.mdl.get_cur_output_dims(desc, 0)
    must(ret, "get_cur_output_dims")
    nbytes = int(np.prod(cur["dims"])) * 4
    host = bytes(nbytes)
    must(acl.rt.memcpy(acl.util.bytes_to_ptr(host), nbytes, out_ptr, nbytes, ACL_MEMCPY_DEVICE_TO_HOST), "memcpy")
    y = np.frombuffer(host, dtype=np.float32).reshape(cur["dims"])

    for ds in (in_ds, out_ds):
        for i in range(acl.mdl.get_dataset_num_buffers(ds)):
            must(acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(ds, i)), "destroy_data_buffer")
        must(acl.mdl.destroy_dataset(ds), "destroy_dataset")
    for ptr in allocations:
        must(acl.rt.free(ptr), "free")
    must(acl.mdl.unload(model_id), "unload")
    must(acl.mdl.destroy_desc(desc), "destroy_desc")
    must(acl.rt.destroy_context(ctx), "destroy_context")
    must(acl.rt.reset_device(0), "reset_device")
    must(acl.finalize(), "finalize")
    np.savez(out_path, a=arrays[0], b=arrays[1], output=y, gear=np.array(gear["dims"]))


if __name__ == "__main__":
    main()
