"""SoC profiles the simulator can pretend to be.

Totals are the products' published memory sizes; `reserved` and `idle` are our estimates
of what `aclrtGetMemInfo` leaves out (system reservation) and what an idle device already
uses (runtime, firmware). They are plausible figures, not measurements: the point is that a
notebook sees the same *shape* of numbers as on the real board.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import RunMode

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class SocProfile:
    name: str  # what aclrtGetSocName() returns
    product: str  # a typical board / card carrying it
    memory_kind: str  # "HBM" or "DDR"
    total: int  # bytes aclrtGetMemInfo reports as total (after reservation)
    idle_used: int  # bytes already in use on an idle device
    run_mode: RunMode
    devices: int = 1  # devices a typical single-board set-up shows


def _hbm(name: str, product: str, gib: int, devices: int = 1) -> SocProfile:
    # About 1.5% of HBM is reserved by the system; an idle A2/A3 device shows ~3 GiB used.
    total = gib * GiB - (gib * GiB) // 64
    return SocProfile(name, product, "HBM", total, 3 * GiB + 256 * MiB, RunMode.HOST, devices)


def _ddr(name: str, product: str, gib: int, idle_mib: int, mode: RunMode) -> SocProfile:
    total = gib * GiB - (gib * GiB) // 16
    return SocProfile(name, product, "DDR", total, idle_mib * MiB, mode)


PROFILES: dict[str, SocProfile] = {
    p.name: p
    for p in (
        _hbm("Ascend910B1", "Atlas 800T A2 (Atlas A2 training)", 64),
        _hbm("Ascend910B2", "Atlas 800T A2 (Atlas A2 training)", 64),
        _hbm("Ascend910B3", "Atlas 800T A2 / 900 A2 PoD", 64),
        _hbm("Ascend910B4", "Atlas 800I A2 (Atlas A2 inference)", 32),
        _hbm("Ascend910_9391", "Atlas 900 A3 SuperPoD (one die)", 64),
        _hbm("Ascend910_9392", "Atlas 900 A3 SuperPoD (one die)", 64),
        _hbm("Ascend910_9381", "Atlas 800T A3 (one die)", 64),
        _hbm("Ascend910_9382", "Atlas 800T A3 (one die)", 64),
        _hbm("Ascend910_9372", "Atlas 800I A3 (one die)", 64),
        _hbm("Ascend910_9362", "Atlas A3 (one die)", 64),
        _ddr("Ascend310P3", "Atlas 300I Pro inference card", 24, 1536, RunMode.HOST),
        _ddr("Ascend310B1", "Atlas 200I A2 / 500 A2 (8 GB)", 8, 1900, RunMode.DEVICE),
        _ddr("Ascend310B4", "Atlas 200I DK A2 (8 GB)", 8, 1900, RunMode.DEVICE),
    )
}

DEFAULT_SOC = "Ascend910B1"

_FAMILY = re.compile(r"^(Ascend\d+(?:_\d\d|[A-Z])?)")


def soc_family(soc: str) -> str:
    """The compatibility family of a SoC name: Ascend910B1 -> Ascend910B,
    Ascend910_9391 -> Ascend910_93, Ascend310P3 -> Ascend310P.

    An OM built by ATC for one member is accepted on another member of the same family;
    across families the loader refuses it (our reading of how ATC targets SoC versions).
    """
    m = _FAMILY.match(soc or "")
    return m.group(1) if m else (soc or "")


def get_profile(soc: str) -> SocProfile:
    try:
        return PROFILES[soc]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown SoC {soc!r}; the simulator knows: {known}") from None
