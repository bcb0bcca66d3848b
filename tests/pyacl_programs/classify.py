"""A static image classifier in the classic pyACL style: load_from_file, one context,
host -> device copy, execute, device -> host copy, top-5, full teardown.

usage: classify.py MODEL.om OUT.npz [SEED]
"""
import sys

import acl
import numpy as np

ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2
ACL_MEMCPY_DEVICE_TO_DEVICE = 3
ACL_HOST = 1
DEVICE_ID = 0


def check_ret(message, ret):
    if ret != 0:
        raise Exception(f"{message} failed ret={ret}: {acl.get_recent_err_msg()}")


class Classifier:
    def __init__(self, model_path):
        self.model_path = model_path
        check_ret("acl.init", acl.init())
        check_ret("acl.rt.set_device", acl.rt.set_device(DEVICE_ID))
        self.context, ret = acl.rt.create_context(DEVICE_ID)
        check_ret("acl.rt.create_context", ret)
        self.run_mode, ret = acl.rt.get_run_mode()
        check_ret("acl.rt.get_run_mode", ret)
        self.model_id, ret = acl.mdl.load_from_file(model_path)
        check_ret("acl.mdl.load_from_file", ret)
        self.model_desc = acl.mdl.create_desc()
        check_ret("acl.mdl.get_desc", acl.mdl.get_desc(self.model_desc, self.model_id))
        self.input_dataset, self.input_buffers = self._dataset(acl.mdl.get_num_inputs(self.model_desc),
                                                               acl.mdl.get_input_size_by_index)
        self.output_dataset, self.output_buffers = self._dataset(acl.mdl.get_num_outputs(self.model_desc),
                                                                 acl.mdl.get_output_size_by_index)

    def _dataset(self, count, size_of):
        dataset = acl.mdl.create_dataset()
        buffers = []
        for i in range(count):
            size = size_of(self.model_desc, i)
            ptr, ret = acl.rt.malloc(size, ACL_MEM_MALLOC_HUGE_FIRST)
            check_ret("acl.rt.malloc", ret)
            data_buffer = acl.create_data_buffer(ptr, size)
            _, ret = acl.mdl.add_dataset_buffer(dataset, data_buffer)
            check_ret("acl.mdl.add_dataset_buffer", ret)
            buffers.append({"ptr": ptr, "size": size, "buffer": data_buffer})
        return dataset, buffers

    def run(self, image):
        copy_in = ACL_MEMCPY_HOST_TO_DEVICE if self.run_mode == ACL_HOST else ACL_MEMCPY_DEVICE_TO_DEVICE
        copy_out = ACL_MEMCPY_DEVICE_TO_HOST if self.run_mode == ACL_HOST else ACL_MEMCPY_DEVICE_TO_DEVICE
        data = image.tobytes()
        target = self.input_buffers[0]
        check_ret("acl.rt.memcpy", acl.rt.memcpy(target["ptr"], target["size"], acl.util.bytes_to_ptr(data),
                                                 len(data), copy_in))
        check_ret("acl.mdl.execute", acl.mdl.execute(self.model_id, self.input_dataset, self.output_dataset))
        results = []
        for i, out in enumerate(self.output_buffers):
            dims, ret = acl.mdl.get_output_dims(self.model_desc, i)
            check_ret("acl.mdl.get_output_dims", ret)
            host = bytes(out["size"])
            check_ret("acl.rt.memcpy", acl.rt.memcpy(acl.util.bytes_to_ptr(host), out["size"], out["ptr"],
                                                     out["size"], copy_out))
            results.append(np.frombuffer(host, dtype=np.float32).reshape(tuple(dims["dims"])).copy())
        return results

    def release(self):
        for dataset, buffers in ((self.input_dataset, self.input_buffers),
                                 (self.output_dataset, self.output_buffers)):
            for item in buffers:
                check_ret("acl.destroy_data_buffer", acl.destroy_data_buffer(item["buffer"]))
                check_ret("acl.rt.free", acl.rt.free(item["ptr"]))
            check_ret("acl.mdl.destroy_dataset", acl.mdl.destroy_dataset(dataset))
        check_ret("acl.mdl.unload", acl.mdl.unload(self.model_id))
        check_ret("acl.mdl.destroy_desc", acl.mdl.destroy_desc(self.model_desc))
        check_ret("acl.rt.destroy_context", acl.rt.destroy_context(self.context))
        check_ret("acl.rt.reset_device", acl.rt.reset_device(DEVICE_ID))
        check_ret("acl.finalize", acl.finalize())


def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    net = Classifier(model_path)
    dims, _ = acl.mdl.get_input_dims(net.model_desc, 0)
    image = np.random.default_rng(seed).standard_normal(tuple(dims["dims"])).astype(np.float32)
    (prob,) = net.run(image)
    top5 = np.argsort(prob.reshape(-1))[::-1][:5]
    print("top5:", " ".join(str(int(i)) for i in top5))
    net.release()
    np.savez(out_path, input0=image, output0=prob)


if __name__ == "__main__":
    main()
