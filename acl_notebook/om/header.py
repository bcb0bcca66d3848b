"""The 256-byte ModelFileHeader: recognise the container, read it, check it, and write it.

Two layouts exist (om-format.md §2, §7). Version 0x20000000 has ``model_num`` at 0x9C;
version 0x10000000 files put ``platform_version`` there instead. We branch on the version,
with one guard: a 1.0 file whose 0x9C slot holds a small integer is read with the new
layout (reading ASCII "1.11" as a count would claim 825306673 sub-models).
"""

from __future__ import annotations

import struct

from .errors import OMFormatError
from .model import OMHeader, make

MAGIC = b"IMOD"  # u32 0x444F4D49 stored little-endian
HEADER_SIZE = 256
VERSION_1 = 0x10000000
VERSION_2 = 0x20000000

ZIP_MAGIC = b"PK\x03\x04"
PICO_MAGIC = b"PICO"

# Offsets of the fields we read (the struct layout is documented in om-format.md §2).
_COMMON = struct.Struct("<4sII64sIBBBB32sI32sI")  # magic .. om_ir_version, ends at 0x9C
_NEW_TAIL = struct.Struct("<I20sB3sQBB")  # model_num .. is_unknow_model, from 0x9C
_WHOLE = struct.Struct(_COMMON.format + _NEW_TAIL.format[1:])  # both, as the new layout reads them
_OLD_TAIL = struct.Struct("<20sB")  # platform_version, platform_type, from 0x9C
_MODEL_LENGTH = struct.Struct("<Q")  # at 0xB8, zero in old files
_OFF_TAIL = 0x9C
_OFF_MODEL_LENGTH = 0xB8
_OFF_FLAGS = 0xC0  # need_check_os_cpu_info, is_unknow_model
_MAX_GUARD_MODEL_NUM = 1024

# modeltype values we cannot read with the plain partition walk.
_MODELTYPE_FLOW = 3
_MODELTYPE_BUNDLE = 5


def hex_preview(view: memoryview, count: int = 16) -> str:
    """First bytes as spaced hex, for "this is not an OM" messages."""
    head = bytes(view[:count])
    return " ".join(f"{b:02x}" for b in head) or "(empty)"


def check_container(view: memoryview, size: int) -> None:
    """Reject anything that is not a classic IMOD offline model, saying what it is instead.

    `view` holds the first bytes (up to the header); `size` is the whole model's length.
    """
    head = bytes(view[:4])
    if head == MAGIC:
        if size < HEADER_SIZE:
            raise OMFormatError(
                f"truncated OM file: the header alone needs {HEADER_SIZE} bytes, got {size}; "
                "the file was cut short, copy or download it again"
            )
        return
    if head == ZIP_MAGIC:
        raise OMFormatError(
            "this is an OM2 zip package (starts with 'PK\\x03\\x04'), which acl-notebook cannot "
            "read yet; re-export the model with an ATC that writes the classic 'IMOD' .om format, "
            "or load it with aclmdlLoadFromFile on a machine with CANN"
        )
    if head == PICO_MAGIC:
        raise OMFormatError(
            "this is a 'PICO' (HiSilicon SVP) model, not an AscendCL offline model; it needs the "
            "SVP toolchain, or convert the original network with ATC for an Ascend SoC"
        )
    raise OMFormatError(
        f"not an Ascend offline model: expected the 'IMOD' magic (49 4d 4f 44) at offset 0, "
        f"found {hex_preview(view)}; pass a .om file produced by ATC"
    )


def read_header(view: memoryview, size: int) -> OMHeader:
    """Parse and validate the 256-byte header (`view`) of a `size`-byte model that passed
    `check_container`.

    Validation follows GE's ModelParserBase: header size, encryption, and
    ``len - 256 == (model_length or length)``.
    """
    (
        _magic, headsize, version, _checksum, length, is_encrypt, is_checksum, modeltype,
        genmode, name, _ops, _userdefine, om_ir_version, slot, platform_version, platform_type, _pad,
        model_length, check_cpu, unknown,
    ) = _WHOLE.unpack_from(view, 0)  # one unpack, read as the new layout; an old one is fixed below
    if headsize != HEADER_SIZE:
        raise OMFormatError(
            f"corrupt OM header: headsize is {headsize}, every offline model has {HEADER_SIZE}; "
            "the file is damaged or not an ATC model"
        )
    if is_encrypt:
        raise OMFormatError(
            f"the model is encrypted (is_encrypt={is_encrypt}); its contents cannot be read without "
            "the key. Export an unencrypted model with ATC, or load it on a device with its key"
        )
    if version >= VERSION_2 or 1 <= slot <= _MAX_GUARD_MODEL_NUM:  # the new layout (see the module doc)
        model_num = slot or 1
    else:
        platform_version, platform_type = _OLD_TAIL.unpack_from(view, _OFF_TAIL)  # the rest sits alike
        model_num = 1
    header = make(OMHeader, {
        "version": version,
        "length": length,
        "is_encrypt": is_encrypt,
        "is_checksum": is_checksum,
        "modeltype": modeltype,
        "genmode": genmode,
        "name": c_string(name),
        "om_ir_version": om_ir_version,
        "model_num": model_num,
        "platform_version": c_string(platform_version),
        "platform_type": platform_type,
        "model_length": model_length,
        "need_check_os_cpu_info": check_cpu,
        "is_unknow_model": unknown,
    })
    _check_length(header, size)
    _check_modeltype(header)
    return header


def _check_length(header: OMHeader, size: int) -> None:
    declared = header.model_length or header.length
    actual = size - HEADER_SIZE
    if declared == actual:
        return
    if declared == 0:
        raise OMFormatError(
            "corrupt OM header: both length fields (0x4C and 0xB8) are zero, so the model size is "
            "unknown; the file is damaged or was not written by ATC"
        )
    if declared > actual:
        raise OMFormatError(
            f"truncated OM file: the header promises {HEADER_SIZE + declared} bytes, got {size}; "
            "the file was cut short, copy or download it again"
        )
    raise OMFormatError(
        f"OM file is {size} bytes but its header declares {HEADER_SIZE + declared}: "
        f"{actual - declared} unexpected bytes follow the model; it was probably padded or "
        "concatenated, cut it back to the declared size"
    )


def _check_modeltype(header: OMHeader) -> None:
    if header.modeltype == _MODELTYPE_FLOW:
        raise OMFormatError(
            "this is a flow (dataflow) model (modeltype 3); it is deployed with the dataflow API, "
            "not aclmdlLoadFromMem, and acl-notebook cannot read it"
        )
    if header.modeltype == _MODELTYPE_BUNDLE:
        raise OMFormatError(
            "this is a bundle OM (modeltype 5) that packs several complete models; acl-notebook "
            "cannot read bundles yet, export each model as its own .om with ATC"
        )


def c_string(raw: bytes) -> str:
    """A NUL-terminated fixed-size field as text (never fails on odd bytes)."""
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def pack_header(
    *,
    version: int,
    name: str,
    payload_size: int,
    wide_table: bool,
    model_num: int = 1,
    platform_version: str = "1.11.z.0",
    platform_type: int = 1,
    om_ir_version: int = 2,
    is_unknow_model: int = 0,
    is_encrypt: int = 0,
) -> bytes:
    """A 256-byte header as ATC writes it, for the writer.

    A wide partition table is announced by a non-zero ``model_length`` (GE's rule), a
    narrow one by the 32-bit ``length`` with ``model_length`` left at zero.
    """
    if wide_table:
        length, model_length = 0, payload_size
    else:
        if payload_size > 0xFFFFFFFF:
            raise ValueError("a narrow partition table cannot describe a model over 4 GiB; use wide_table")
        length, model_length = payload_size, 0
    buf = bytearray(HEADER_SIZE)
    name_raw = name.encode("utf-8")[:31]
    _COMMON.pack_into(
        buf, 0, MAGIC, HEADER_SIZE, version, b"", length, is_encrypt, 0, 0, 0, name_raw, 0, b"",
        om_ir_version,
    )
    platform = platform_version.encode("ascii", "replace")[:19]
    if version >= VERSION_2:
        _NEW_TAIL.pack_into(buf, _OFF_TAIL, model_num, platform, platform_type, b"", model_length, 0,
                            is_unknow_model)
    else:
        if model_num != 1:
            raise ValueError("header version 1 has no model_num field; use header_version=2 for submodels")
        _OLD_TAIL.pack_into(buf, _OFF_TAIL, platform, platform_type)
        _MODEL_LENGTH.pack_into(buf, _OFF_MODEL_LENGTH, model_length)
        buf[_OFF_FLAGS + 1] = is_unknow_model
    return bytes(buf)
