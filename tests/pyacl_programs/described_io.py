"""An inference helper in the style of the dynamic-shape samples and "Net" wrappers: each input is
described with acl.create_tensor_desc / acl.mdl.set_dataset_tensor_desc before the run, the
output shapes are read back from acl.mdl.get_dataset_tensor_desc (get_tensor_desc_num_dims,
get_tensor_desc_dim_v2) when the runtime filled them in, else from get_cur_output_dims. The
buffers are cached device memory (malloc_cached, with mem_flush after writing and mem_invalidate
before reading), the run goes on a stream made with create_stream_with_config, and the
deprecated query_event confirms the run's end event.

usage: described_io.py MODEL.om OUT.npz [BATCH...]   (batches for a dynamic-batch model)
"""
import sys

import acl
import numpy as np

ACL_MEM_MALLOC_HUGE_FIRST = 0
ACL_MEMCPY_HOST_TO_DEVICE = 1
ACL_MEMCPY_DEVICE_TO_HOST = 2
ACL_STREAM_FAST_LAUNCH = 1
ACL_EVENT_STATUS_COMPLETE = 0
ACL_DYNAMIC_TENSOR_NAME = "ascend_mbatch_shape_data"
NP_TYPES = {0: np.float32, 1: np.float16, 3: np.int32, 9: np.int64}


def check_ret(what, ret):
    if ret != 0:
        raise RuntimeError(f"{what} failed ret={ret}: {acl.get_recent_err_msg()}")


class Net:
    def __init__(self, path):
        check_ret("acl.init", acl.init())
        check_ret("acl.rt.set_device", acl.rt.set_device(0))
        self.context, ret = acl.rt.create_context(0)
        check_ret("acl.rt.create_context", ret)
        self.stream, ret = acl.rt.create_stream_with_config(3, ACL_STREAM_FAST_LAUNCH)
        check_ret("acl.rt.create_stream_with_config", ret)
        self.model_id, ret = acl.mdl.load_from_file(path)
        check_ret("acl.mdl.load_from_file", ret)
        self.desc = acl.mdl.create_desc()
        check_ret("acl.mdl.get_desc", acl.mdl.get_desc(self.desc, self.model_id))
        self.mbatch, ret = acl.mdl.get_input_index_by_name(self.desc, ACL_DYNAMIC_TENSOR_NAME)
        if ret != 0:
            self.mbatch = None
        self.inputs = [self._alloc(acl.mdl.get_input_size_by_index(self.desc, i))
                       for i in range(acl.mdl.get_num_inputs(self.desc))]
        self.outputs = [self._alloc(acl.mdl.get_output_size_by_index(self.desc, i))
                        for i in range(acl.mdl.get_num_outputs(self.desc))]
        self.end, ret = acl.rt.create_event()
        check_ret("acl.rt.create_event", ret)

    @staticmethod
    def _alloc(size):
        ptr, ret = acl.rt.malloc_cached(size, ACL_MEM_MALLOC_HUGE_FIRST)
        check_ret("acl.rt.malloc_cached", ret)
        return {"ptr": ptr, "size": size}

    @staticmethod
    def _dataset(items):
        dataset = acl.mdl.create_dataset()
        for item in items:
            buffer = acl.create_data_buffer(item["ptr"], item["size"])
            _, ret = acl.mdl.add_dataset_buffer(dataset, buffer)
            check_ret("acl.mdl.add_dataset_buffer", ret)
        return dataset

    @staticmethod
    def _destroy(dataset):
        for i in range(acl.mdl.get_dataset_num_buffers(dataset)):
            check_ret("acl.destroy_data_buffer", acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(dataset, i)))
        check_ret("acl.mdl.destroy_dataset", acl.mdl.destroy_dataset(dataset))

    def forward(self, arrays, batch=None):
        user = [i for i in range(len(self.inputs)) if i != self.mbatch]
        for i, array in zip(user, arrays):
            data = np.ascontiguousarray(array).tobytes()
            item = self.inputs[i]
            check_ret("acl.rt.memcpy", acl.rt.memcpy(item["ptr"], item["size"], acl.util.bytes_to_ptr(data),
                                                     len(data), ACL_MEMCPY_HOST_TO_DEVICE))
            check_ret("acl.rt.mem_flush", acl.rt.mem_flush(item["ptr"], item["size"]))
        input_dataset, output_dataset = self._dataset(self.inputs), self._dataset(self.outputs)
        descs = []
        for i, array in zip(user, arrays):
            desc = acl.create_tensor_desc(acl.mdl.get_input_data_type(self.desc, i), list(array.shape),
                                          acl.mdl.get_input_format(self.desc, i))
            dataset, ret = acl.mdl.set_dataset_tensor_desc(input_dataset, desc, i)
            check_ret("acl.mdl.set_dataset_tensor_desc", ret)
            assert dataset == input_dataset
            descs.append(desc)
        if batch is not None:
            check_ret("acl.mdl.set_dynamic_batch_size",
                      acl.mdl.set_dynamic_batch_size(self.model_id, input_dataset, self.mbatch, batch))
        check_ret("acl.mdl.execute_async", acl.mdl.execute_async(self.model_id, input_dataset, output_dataset,
                                                                 self.stream))
        check_ret("acl.rt.record_event", acl.rt.record_event(self.end, self.stream))
        check_ret("acl.rt.synchronize_stream", acl.rt.synchronize_stream(self.stream))
        status, ret = acl.rt.query_event(self.end)
        check_ret("acl.rt.query_event", ret)
        assert status == ACL_EVENT_STATUS_COMPLETE
        shapes, from_descs = self._output_shapes(output_dataset)
        results = []
        for i, shape in enumerate(shapes):
            item = self.outputs[i]
            check_ret("acl.rt.mem_invalidate", acl.rt.mem_invalidate(item["ptr"], item["size"]))
            dtype = np.dtype(NP_TYPES[acl.mdl.get_output_data_type(self.desc, i)])
            n = int(np.prod(shape)) * dtype.itemsize
            host = bytes(n)
            check_ret("acl.rt.memcpy", acl.rt.memcpy(acl.util.bytes_to_ptr(host), n, item["ptr"], n,
                                                     ACL_MEMCPY_DEVICE_TO_HOST))
            results.append(np.frombuffer(host, dtype).reshape(shape))
        for desc in descs:
            acl.destroy_tensor_desc(desc)
        self._destroy(input_dataset)
        self._destroy(output_dataset)
        return results, from_descs

    def _output_shapes(self, output_dataset):
        """The real output dims the runtime put in the output descs, else the current gear's."""
        shapes, from_descs = [], 0
        for i in range(acl.mdl.get_dataset_num_buffers(output_dataset)):
            desc = acl.mdl.get_dataset_tensor_desc(output_dataset, i)
            count = acl.get_tensor_desc_num_dims(desc)
            if desc and count:
                shape = []
                for d in range(count):
                    dim, ret = acl.get_tensor_desc_dim_v2(desc, d)
                    check_ret("acl.get_tensor_desc_dim_v2", ret)
                    shape.append(dim)
                from_descs += 1
            else:
                dims, ret = acl.mdl.get_cur_output_dims(self.desc, i)
                check_ret("acl.mdl.get_cur_output_dims", ret)
                shape = dims["dims"]
            shapes.append(tuple(shape))
        return shapes, from_descs

    def close(self):
        check_ret("acl.rt.destroy_event", acl.rt.destroy_event(self.end))
        for item in self.inputs + self.outputs:
            check_ret("acl.rt.free", acl.rt.free(item["ptr"]))
        check_ret("acl.mdl.unload", acl.mdl.unload(self.model_id))
        check_ret("acl.mdl.destroy_desc", acl.mdl.destroy_desc(self.desc))
        check_ret("acl.rt.destroy_stream", acl.rt.destroy_stream(self.stream))
        check_ret("acl.rt.destroy_context", acl.rt.destroy_context(self.context))
        check_ret("acl.rt.reset_device", acl.rt.reset_device(0))
        check_ret("acl.finalize", acl.finalize())


def main():
    path, out_path = sys.argv[1], sys.argv[2]
    batches = [int(b) for b in sys.argv[3:]] or [None]
    net = Net(path)
    rng = np.random.default_rng(7)
    saved = {}
    for n, batch in enumerate(batches):
        dims, ret = acl.mdl.get_input_dims(net.desc, 0)
        check_ret("acl.mdl.get_input_dims", ret)
        shape = [batch if d == -1 else d for d in dims["dims"]]
        x = rng.standard_normal(shape).astype(np.float32)
        (y,), from_descs = net.forward([x], batch)
        saved[f"input{n}"], saved[f"output{n}"] = x, y
        print(f"run {n}: output {y.shape}, {from_descs} shape(s) from the output descs")
    net.close()
    np.savez(out_path, **saved)


if __name__ == "__main__":
    main()
