"""The wrapper del_walks_datasets.py leaves to interpreter exit, in a module of its own (as
programs import their model class from one), so it can also be kept by this module.
"""
import json

import acl


class Wrapper:
    def __init__(self, path):
        self.model_id, ret = acl.mdl.load_from_file(path)
        assert ret == 0
        self.desc = acl.mdl.create_desc()
        assert acl.mdl.get_desc(self.desc, self.model_id) == 0
        size = acl.mdl.get_input_size_by_index(self.desc, 0)
        self.ptr, ret = acl.rt.malloc(size, 0)
        self.dataset = acl.mdl.create_dataset()
        acl.mdl.add_dataset_buffer(self.dataset, acl.create_data_buffer(self.ptr, size))
        self.tensor = acl.create_tensor_desc(0, [1, 3, 16, 16], 0)
        self.during_run = self.walk()

    def walk(self):
        buffer = acl.mdl.get_dataset_buffer(self.dataset, 0)
        return {"num_buffers": acl.mdl.get_dataset_num_buffers(self.dataset), "buffer": bool(buffer),
                "size": acl.get_data_buffer_size(buffer), "num_dims": acl.get_tensor_desc_num_dims(self.tensor),
                "type": acl.get_tensor_desc_type(self.tensor)}

    def __del__(self):
        at_exit = self.walk()
        at_exit["name"] = acl.get_tensor_desc_name(self.tensor)
        acl.destroy_tensor_desc(self.tensor)
        for i in range(at_exit["num_buffers"]):
            acl.destroy_data_buffer(acl.mdl.get_dataset_buffer(self.dataset, i))
        at_exit["destroy_dataset"] = acl.mdl.destroy_dataset(self.dataset)
        print(json.dumps({"during_run": self.during_run, "at_exit": at_exit}), flush=True)
