"""A dynamic image-size (dynamic HW) model in the older pyACL style: numpy_to_ptr for host
arrays, get_dynamic_hw to list the gears, set_dynamic_hw_size per image, outputs read
with get_cur_output_dims and copied straight into a numpy array.

usage: image_size.py MODEL.om OUT.npz H,W [H,W...]
"""
import sys
import warnings

import acl
import numpy as np

warnings.simplefilter("ignore")  # numpy_to_ptr's deprecation notice

ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2


def ok(ret, what):
    if ret != 0:
        print(f"{what}: {ret} {acl.get_recent_err_msg()}")
        sys.exit(5)


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    sizes = [tuple(int(v) for v in s.split(",")) for s in sys.argv[3:]]
    ok(acl.init(), "init")
    ok(acl.rt.set_device(0), "set_device")
    context, ret = acl.rt.create_context(0)
    ok(ret, "create_context")
    model_id, ret = acl.mdl.load_from_file(path)
    ok(ret, "load_from_file")
    desc = acl.mdl.create_desc()
    ok(acl.mdl.get_desc(desc, model_id), "get_desc")
    hw, ret = acl.mdl.get_dynamic_hw(desc, -1)
    ok(ret, "get_dynamic_hw")
    print("hw gears:", hw["hw"])
    index, ret = acl.mdl.get_input_index_by_name(desc, "ascend_mbatch_shape_data")
    ok(ret, "get_input_index_by_name")

    in_size = acl.mdl.get_input_size_by_index(desc, 0)
    mb_size = acl.mdl.get_input_size_by_index(desc, index)
    out_size = acl.mdl.get_output_size_by_index(desc, 0)
    x_dev, ret = acl.rt.malloc(in_size, ACL_MEM_MALLOC_HUGE_FIRST)
    ok(ret, "malloc")
    mb_dev, ret = acl.rt.malloc(mb_size, ACL_MEM_MALLOC_HUGE_FIRST)
    ok(ret, "malloc")
    y_dev, ret = acl.rt.malloc(out_size, ACL_MEM_MALLOC_HUGE_FIRST)
    ok(ret, "malloc")
    inputs = acl.mdl.create_dataset()
    for ptr, size in ((x_dev, in_size), (mb_dev, mb_size)):
        _, ret = acl.mdl.add_dataset_buffer(inputs, acl.create_data_buffer(ptr, size))
        ok(ret, "add_dataset_buffer")
    outputs = acl.mdl.create_dataset()
    _, ret = acl.mdl.add_dataset_buffer(outputs, acl.create_data_buffer(y_dev, out_size))
    ok(ret, "add_dataset_buffer")

    dims, _ = acl.mdl.get_input_dims(desc, 0)
    saved = {}
    for n, (h, w) in enumerate(sizes):
        shape = [d for d in dims["dims"]]
        shape[2], shape[3] = h, w
        image = np.random.default_rng(n).random(shape, dtype=np.float32)
        ok(acl.rt.memcpy(x_dev, in_size, acl.util.numpy_to_ptr(image), image.nbytes, ACL_MEMCPY_HOST_TO_DEVICE),
           "memcpy")
        ok(acl.mdl.set_dynamic_hw_size(model_id, inputs, index, h, w), "set_dynamic_hw_size")
        ok(acl.mdl.execute(model_id, inputs, outputs), "execute")
        cur, ret = acl.mdl.get_cur_output_dims(desc, 0)
        ok(ret, "get_cur_output_dims")
        result = np.zeros(tuple(cur["dims"]), dtype=np.float32)
        ok(acl.rt.memcpy(acl.util.numpy_to_ptr(result), result.nbytes, y_dev, result.nbytes,
                         ACL_MEMCPY_DEVICE_TO_HOST), "memcpy")
        print(f"{h}x{w}: output {result.shape}")
        saved[f"input{n}"], saved[f"output{n}"], saved[f"hw{n}"] = image, result, np.array([h, w])

    for dataset in (inputs, outputs):
        for i in range(acl.mdl.get_dataset_num_buffers(dataset)):
            ok(acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(dataset, i)), "destroy_data_buffer")
        ok(acl.mdl.destroy_dataset(dataset), "destroy_dataset")
    for ptr in (x_dev, mb_dev, y_dev):
        ok(acl.rt.free(ptr), "free")
    ok(acl.mdl.unload(model_id), "unload")
    ok(acl.mdl.destroy_desc(desc), "destroy_desc")
    ok(acl.rt.destroy_context(context), "destroy_context")
    ok(acl.rt.reset_device(0), "reset_device")
    ok(acl.finalize(), "finalize")
    np.savez(out_path, **saved)


if __name__ == "__main__":
    main()
