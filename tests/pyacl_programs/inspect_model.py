"""A model inspector in the style of the public "inspect an OM with pyacl" tools: describe the
file with acl.mdl.get_desc_from_file (falling back to load_from_file + get_desc when the call
is missing or fails), print what the getters say as JSON, and load nothing.

usage: inspect_model.py MODEL.om
"""
import json
import sys

import acl


def dims_of(result):
    found, ret = result
    return found.get("dims") if ret == 0 else None


def main(path):
    assert acl.init() == 0 and acl.rt.set_device(0) == 0
    desc = acl.mdl.create_desc()
    model_id = None
    how = "get_desc_from_file"
    try:
        ret = acl.mdl.get_desc_from_file(desc, path)
    except AttributeError:
        ret = -1
    if ret != 0:
        how = "load_from_file"
        model_id, ret = acl.mdl.load_from_file(path)
        assert ret == 0 and acl.mdl.get_desc(desc, model_id) == 0
    report = {"path": how, "inputs": [], "outputs": []}
    for i in range(acl.mdl.get_num_inputs(desc)):
        report["inputs"].append({"name": acl.mdl.get_input_name_by_index(desc, i),
                                 "dims": dims_of(acl.mdl.get_input_dims(desc, i)),
                                 "size": acl.mdl.get_input_size_by_index(desc, i)})
    for i in range(acl.mdl.get_num_outputs(desc)):
        report["outputs"].append({"name": acl.mdl.get_output_name_by_index(desc, i),
                                  "dims": dims_of(acl.mdl.get_output_dims(desc, i))})
    batch, _ = acl.mdl.get_dynamic_batch(desc)
    report["batch"] = batch.get("batch", [])
    report["cur_output_dims_ret"] = acl.mdl.get_cur_output_dims(desc, 0)[1]
    # a model the program could have loaded is one unload would find; model ids start at 1
    report["loaded"] = [mid for mid in range(1, 4) if acl.mdl.unload(mid) == 0]
    acl.mdl.destroy_desc(desc)
    if model_id is not None:
        acl.mdl.unload(model_id)
    acl.rt.reset_device(0)
    acl.finalize()
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
