"""Clears and fills buffers on a stream, as memory samples and pre-processing code do:
a page-locked staging buffer is filled with memset_async (host memory: set at once), sent to
the device and back with memcpy_async; a device buffer is cleared with memset_async and read
back after synchronize_stream. Prints what each read saw, one line per check.

usage: fill_and_round_trip.py SIZE VALUE
"""
import sys

import acl

HUGE_FIRST, H2D, D2H = 0, 1, 2


def ok(ret, what):
    if ret != 0:
        sys.exit(f"{what} failed with {ret}: {acl.get_recent_err_msg()}")


def seen(ptr, size):
    """The distinct byte values at a host pointer, as a sorted list."""
    return sorted(set(acl.util.ptr_to_bytes(ptr, size)))


def main():
    size, value = int(sys.argv[1]), int(sys.argv[2])
    ok(acl.init(), "init")
    ok(acl.rt.set_device(0), "set_device")
    context, ret = acl.rt.create_context(0)
    ok(ret, "create_context")
    stream, ret = acl.rt.create_stream()
    ok(ret, "create_stream")

    staging, ret = acl.rt.malloc_host(size)
    ok(ret, "malloc_host")
    ok(acl.rt.memset_async(staging, size, value, size, stream), "memset_async host")
    print("host after fill:", seen(staging, size))

    device, ret = acl.rt.malloc(size, HUGE_FIRST)
    ok(ret, "malloc")
    ok(acl.rt.memcpy_async(device, size, staging, size, H2D, stream), "memcpy_async h2d")
    back, ret = acl.rt.malloc_host(size)
    ok(ret, "malloc_host")
    ok(acl.rt.memset(back, size, 0, size), "memset")
    ok(acl.rt.memcpy_async(back, size, device, size, D2H, stream), "memcpy_async d2h")
    ok(acl.rt.synchronize_stream(stream), "synchronize_stream")
    print("round trip:", seen(back, size))

    ok(acl.rt.memset_async(device, size, 0, size, stream), "memset_async device")
    ok(acl.rt.memcpy_async(back, size, device, size, D2H, stream), "memcpy_async d2h")
    ok(acl.rt.synchronize_stream(stream), "synchronize_stream")
    print("device after clear:", seen(back, size))

    for ptr in (staging, back):
        ok(acl.rt.free_host(ptr), "free_host")
    ok(acl.rt.free(device), "free")
    ok(acl.rt.destroy_stream(stream), "destroy_stream")
    ok(acl.rt.destroy_context(context), "destroy_context")
    ok(acl.rt.reset_device(0), "reset_device")
    ok(acl.finalize(), "finalize")


main()
