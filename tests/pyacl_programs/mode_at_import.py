"""A helper library's habit: it reads the run mode when its module is imported, before the
application has called acl.init, and picks its copy kinds from it (DEVICE_TO_DEVICE on a
board, HOST_TO_DEVICE / DEVICE_TO_HOST on a PCIe card). Prints the mode read at import and
the one read after init, then stages a buffer with the kind the import-time mode chose.

usage: mode_at_import.py
"""
import sys

import acl

MODE_AT_IMPORT, RET_AT_IMPORT = acl.rt.get_run_mode()
ACL_DEVICE, H2D, D2D = 0, 1, 3
STAGE_KIND = D2D if MODE_AT_IMPORT == ACL_DEVICE else H2D


def ok(ret, what):
    if ret != 0:
        sys.exit(f"{what} failed with {ret}: {acl.get_recent_err_msg()}")


def main():
    print("at import:", MODE_AT_IMPORT, RET_AT_IMPORT)
    ok(acl.init(), "init")
    ok(acl.rt.set_device(0), "set_device")
    mode, ret = acl.rt.get_run_mode()
    print("after init:", mode, ret)
    data = bytes(range(64))
    dev, ret = acl.rt.malloc(64, 0)
    ok(ret, "malloc")
    ok(acl.rt.memcpy(dev, 64, acl.util.bytes_to_ptr(data), 64, STAGE_KIND), "memcpy with the import-time kind")
    back = bytes(64)
    ok(acl.rt.memcpy(acl.util.bytes_to_ptr(back), 64, dev, 64, 2), "memcpy d2h")
    print("staged:", back == data)
    ok(acl.rt.free(dev), "free")
    ok(acl.rt.reset_device(0), "reset_device")
    ok(acl.finalize(), "finalize")


main()
