"""A reusable model helper in the acllite style: the model is read into bytes and loaded
with load_from_mem, buffers are allocated once, the batch is chosen per call with
set_dynamic_batch_size on the ascend_mbatch_shape_data input, and output shapes come
from get_cur_output_dims. The device's default context (set_device) is the only one.

usage: batch_helper.py MODEL.om OUT.npz BATCH [BATCH...]
"""
import sys

import acl
import numpy as np

ACL_MEM_MALLOC_NORMAL_ONLY = 2
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2
ACL_DYNAMIC_TENSOR_NAME = "ascend_mbatch_shape_data"
ACL_SUCCESS = 0
NPY_FLOAT32 = 11


class AclModel:
    def __init__(self, path, device_id=0):
        self.device_id = device_id
        ret = acl.init()
        assert ret == ACL_SUCCESS, ret
        assert acl.rt.set_device(device_id) == ACL_SUCCESS
        with open(path, "rb") as f:
            self._om = f.read()
        self.model_id, ret = acl.mdl.load_from_mem(acl.util.bytes_to_ptr(self._om), len(self._om))
        assert ret == ACL_SUCCESS, (ret, acl.get_recent_err_msg())
        self.desc = acl.mdl.create_desc()
        assert acl.mdl.get_desc(self.desc, self.model_id) == ACL_SUCCESS
        self.mbatch_index, ret = acl.mdl.get_input_index_by_name(self.desc, ACL_DYNAMIC_TENSOR_NAME)
        self.dynamic = ret == ACL_SUCCESS
        batch_info, ret = acl.mdl.get_dynamic_batch(self.desc)
        assert ret == ACL_SUCCESS
        self.batches = batch_info["batch"][: batch_info["batchCount"]]
        self.inputs = [self._alloc(acl.mdl.get_input_size_by_index(self.desc, i))
                       for i in range(acl.mdl.get_num_inputs(self.desc))]
        self.outputs = [self._alloc(acl.mdl.get_output_size_by_index(self.desc, i))
                        for i in range(acl.mdl.get_num_outputs(self.desc))]
        self.output_dataset = self._dataset(self.outputs)

    @staticmethod
    def _alloc(size):
        ptr, ret = acl.rt.malloc(size, ACL_MEM_MALLOC_NORMAL_ONLY)
        assert ret == ACL_SUCCESS, ret
        return {"ptr": ptr, "size": size}

    @staticmethod
    def _dataset(items):
        dataset = acl.mdl.create_dataset()
        for item in items:
            item["buffer"] = acl.create_data_buffer(item["ptr"], item["size"])
            dataset, ret = acl.mdl.add_dataset_buffer(dataset, item["buffer"])
            assert ret == ACL_SUCCESS
        return dataset

    def set_batch(self, dataset, batch):
        return acl.mdl.set_dynamic_batch_size(self.model_id, dataset, self.mbatch_index, batch)

    def execute(self, arrays, batch):
        user = [i for i in range(len(self.inputs)) if not (self.dynamic and i == self.mbatch_index)]
        for i, array in zip(user, arrays):
            data = np.ascontiguousarray(array).tobytes()
            ret = acl.rt.memcpy(self.inputs[i]["ptr"], self.inputs[i]["size"], acl.util.bytes_to_ptr(data),
                                len(data), ACL_MEMCPY_HOST_TO_DEVICE)
            assert ret == ACL_SUCCESS, ret
        input_dataset = self._dataset(self.inputs)
        try:
            if self.dynamic:
                ret = self.set_batch(input_dataset, batch)
                if ret != ACL_SUCCESS:
                    return None, ret
            ret = acl.mdl.execute(self.model_id, input_dataset, self.output_dataset)
            assert ret == ACL_SUCCESS, (ret, acl.get_recent_err_msg())
            results = []
            for i, out in enumerate(self.outputs):
                dims, ret = acl.mdl.get_cur_output_dims(self.desc, i)
                assert ret == ACL_SUCCESS
                shape = tuple(dims["dims"])
                nbytes = int(np.prod(shape)) * 4
                host, ret = acl.rt.malloc_host(nbytes)
                assert ret == ACL_SUCCESS
                ret = acl.rt.memcpy(host, nbytes, out["ptr"], nbytes, ACL_MEMCPY_DEVICE_TO_HOST)
                assert ret == ACL_SUCCESS
                results.append(acl.util.ptr_to_numpy(host, shape, NPY_FLOAT32).copy())
                assert acl.rt.free_host(host) == ACL_SUCCESS
            return results, ACL_SUCCESS
        finally:
            for item in self.inputs:
                acl.destroy_data_buffer(item.pop("buffer"))
            acl.mdl.destroy_dataset(input_dataset)

    def release(self):
        for item in self.outputs:
            acl.destroy_data_buffer(item["buffer"])
        acl.mdl.destroy_dataset(self.output_dataset)
        for item in self.inputs + self.outputs:
            acl.rt.free(item["ptr"])
        assert acl.mdl.unload(self.model_id) == ACL_SUCCESS
        acl.mdl.destroy_desc(self.desc)
        acl.rt.reset_device(self.device_id)
        acl.finalize()


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    batches = [int(b) for b in sys.argv[3:]]
    model = AclModel(path)
    print("gears:", model.batches)
    saved = {}
    rng = np.random.default_rng(7)
    for n, batch in enumerate(batches):
        dims, _ = acl.mdl.get_input_dims(model.desc, 0)
        shape = tuple(batch if d == -1 else d for d in dims["dims"])
        x = rng.standard_normal(shape).astype(np.float32)
        outputs, ret = model.execute([x], batch)
        if outputs is None:
            print(f"batch {batch}: refused with {ret}")
            saved[f"refused{n}"] = np.array([batch, ret])
            continue
        print(f"batch {batch}: output {outputs[0].shape}")
        saved[f"input{n}"], saved[f"output{n}"], saved[f"batch{n}"] = x, outputs[0], np.array(batch)
    model.release()
    np.savez(out_path, **saved)


if __name__ == "__main__":
    main()
