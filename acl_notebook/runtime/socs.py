"""SoC profiles the simulator can pretend to be, and the SoC-family rule.

One profile per name an .om names in practice (ATC's ``--soc_version`` values, the names
torch_npu's ``SocVersion`` enum and CANN's platform ini files list). For each, the memory
kind and size a single device (one chip, or one die on A3) has, from published product
specifications. Each figure says where it comes from:

- [doc]  ``shared/docs/acl-api.md`` §6 (device memory totals gathered from Huawei's pages);
- [spec] a Huawei product specification, named beside the figure, as it is widely published
  (we found the documents, e.g. the Atlas 300T (model 9000) technical white paper, but did not
  read the figure off them here: treat these as well-known, not re-verified);
- [est]  our estimate, where no specification for that exact SoC name was found (the
  closest product's figure, said beside it).

``aclrtGetMemInfo`` reports less than the product's memory: the system reserves part of
it. `reserved` (1/64 of HBM, 1/16 of DDR) and `idle_used` (runtime and firmware on an idle
device) are our estimates [est]; the point is that a notebook sees the same *shape* of
numbers as on the real board, not the exact bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .base import RunMode

GiB = 1024**3
MiB = 1024**2

#: The `soc` setting that lets the first loaded model choose the simulated SoC.
AUTO = "auto"
#: What the simulator imitates by default.
DEFAULT_SOC = AUTO
#: The SoC an `auto` simulator shows until a model names one (and runs SoC-less models on):
#: an Atlas A2 training device, the commonest NPU in today's clouds.
FALLBACK_SOC = "Ascend910B1"
#: The most devices a simulator is made with: each is a panel row and a memory bar, and a
#: typo'd count (a billion) would otherwise build devices until the host runs out of memory.
MAX_DEVICES = 256


@dataclass(frozen=True)
class SocProfile:
    name: str  # what aclrtGetSocName() returns
    product: str  # a typical board / card carrying it
    memory_kind: str  # "HBM" or "DDR"
    total: int  # bytes aclrtGetMemInfo reports as total (after reservation)
    idle_used: int  # bytes already in use on an idle device
    run_mode: RunMode
    devices: int = 1  # devices a typical single-board set-up shows
    source: str = ""  # where the memory figure comes from ([doc], [spec ...], [est ...])

    @property
    def family(self) -> str:
        return soc_family(self.name)


def _hbm(name: str, product: str, gib: int, source: str) -> SocProfile:
    # About 1.5% of HBM is reserved by the system; an idle device shows ~3 GiB used [est].
    total = gib * GiB - (gib * GiB) // 64
    return SocProfile(name, product, "HBM", total, 3 * GiB + 256 * MiB, RunMode.HOST, 1, source)


def _ddr(name: str, product: str, gib: int, idle_mib: int, mode: RunMode, source: str) -> SocProfile:
    total = gib * GiB - (gib * GiB) // 16
    return SocProfile(name, product, "DDR", total, idle_mib * MiB, mode, 1, source)


_HOST, _DEVICE = RunMode.HOST, RunMode.DEVICE
_A300T = "[spec Atlas 300T training card (model 9000) / Atlas 800 training server: 32 GB HBM per Ascend 910]"
_A2 = "[doc 64 GB HBM for Ascend910B1/B2/B3]"
_A3 = "[doc A3: 64 GB HBM per die, each die one device (128 GB per dual-die package)]"
_310B = "[doc Atlas 200I/500 A2: 4, 8 or 12 GB LPDDR shared with the board's CPU]"

PROFILES: dict[str, SocProfile] = {
    p.name: p
    for p in (
        # Ascend 310 (first generation inference)
        _ddr("Ascend310", "Atlas 300I inference card (model 3000), one of its 4 chips", 8, 1024, _HOST,
             "[spec Atlas 300I (model 3000): 32 GB LPDDR4X for 4 Ascend 310 = 8 GB each; "
             "Atlas 200 DK: 4 or 8 GB]"),
        # Ascend 310P (Atlas 300I Pro / 300V Pro / 300I Duo)
        _ddr("Ascend310P1", "Atlas 300V Pro video analysis card", 24, 1536, _HOST,
             "[est the 310P cards' 24 GB LPDDR4X (Atlas 300I Pro / 300V Pro)]"),
        _ddr("Ascend310P3", "Atlas 300I Pro inference card", 24, 1536, _HOST,
             "[doc Atlas 300I Pro: 24 GB LPDDR4X]"),
        _ddr("Ascend310P5", "Atlas 300I Duo inference card (one of its 2 chips)", 48, 1536, _HOST,
             "[est Atlas 300I Duo: 96 GB LPDDR4X = 2 x 48 GB (product pages); which 310P name "
             "its chips report is our guess]"),
        _ddr("Ascend310P7", "Atlas 300I Duo inference card (one of its 2 chips)", 48, 1536, _HOST,
             "[est as Ascend310P5]"),
        # Ascend 310B (Atlas 200I A2 / 200I DK A2 / 500 A2): the app runs on the board
        _ddr("Ascend310B1", "Atlas 200I A2 / 500 A2 (8 GB)", 8, 1900, _DEVICE, _310B + " 8 GB variant"),
        _ddr("Ascend310B2", "Atlas 200I A2 accelerator module (8 GB)", 8, 1900, _DEVICE,
             "[est " + _310B[1:-1] + "; 8 GB assumed]"),
        _ddr("Ascend310B3", "Atlas 200I A2 accelerator module (4 GB)", 4, 1200, _DEVICE,
             "[est " + _310B[1:-1] + "; 4 GB assumed]"),
        _ddr("Ascend310B4", "Atlas 200I DK A2 (8 GB)", 8, 1900, _DEVICE, _310B + " 8 GB variant"),
        # Ascend 910 (first generation training)
        _hbm("Ascend910", "Atlas 300T training card / Atlas 800 training server", 32, _A300T),
        _hbm("Ascend910A", "Atlas 800 training server (model 9000)", 32, _A300T),
        _hbm("Ascend910B", "Atlas 300T training card (model 9000)", 32, _A300T),
        _hbm("Ascend910ProA", "Atlas 800 training server (model 9000)", 32, _A300T),
        _hbm("Ascend910ProB", "Atlas 300T Pro training card", 32, _A300T),
        _hbm("Ascend910PremiumA", "Atlas 900 PoD (model 9000)", 32, _A300T),
        # Ascend 910B (Atlas A2)
        _hbm("Ascend910B1", "Atlas 800T A2 (Atlas A2 training)", 64, _A2),
        _hbm("Ascend910B2", "Atlas 800T A2 (Atlas A2 training)", 64, _A2),
        _hbm("Ascend910B2C", "Atlas 800T A2 (Atlas A2 training)", 64, "[est as Ascend910B2]"),
        _hbm("Ascend910B3", "Atlas 800T A2 / 900 A2 PoD", 64, _A2),
        _hbm("Ascend910B4", "Atlas 800I A2 (Atlas A2 inference)", 32, "[doc 32 GB HBM for Ascend910B4]"),
        _hbm("Ascend910B4-1", "Atlas 800I A2 (Atlas A2 inference, 64 GB)", 64,
             "[est the 64 GB Atlas 800I A2 configuration]"),
        # Ascend 910_93 (Atlas A3): one device per die
        _hbm("Ascend910_9391", "Atlas 900 A3 SuperPoD (one die)", 64, _A3),
        _hbm("Ascend910_9392", "Atlas 900 A3 SuperPoD (one die)", 64, _A3),
        _hbm("Ascend910_9381", "Atlas 800T A3 (one die)", 64, _A3),
        _hbm("Ascend910_9382", "Atlas 800T A3 (one die)", 64, _A3),
        _hbm("Ascend910_9372", "Atlas 800I A3 (one die)", 64, _A3),
        _hbm("Ascend910_9362", "Atlas A3 (one die)", 64, _A3),
    )
}

# The "short SoC version": Ascend + digits, then either a letter followed by a digit
# (910B1 -> 910B, 310P3 -> 310P) or "_" plus two digits (910_9391 -> 910_93). A letter not
# followed by a digit is a variant of the first generation (910A, 910ProB -> 910).
_FAMILY = re.compile(r"^(Ascend\d+(?:[A-Z](?=\d)|_\d\d)?)")


def soc_family(soc: str) -> str:
    """The compatibility family of a SoC name: Ascend910B1 -> Ascend910B,
    Ascend910_9391 -> Ascend910_93, Ascend310P3 -> Ascend310P, Ascend910ProA -> Ascend910.

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
        raise ValueError(f"unknown SoC {soc!r}; the simulator knows {AUTO!r} and: {known}") from None


def profile_for_model(soc: str) -> Optional[SocProfile]:
    """The profile an `auto` simulator adopts for a model built for `soc`: the exact name,
    else the first profile of its family (a newer member we have no figures for); None
    when the family is unknown too."""
    if soc in PROFILES:
        return PROFILES[soc]
    family = soc_family(soc)
    return next((p for p in PROFILES.values() if p.family == family), None)


# Chips without a Vector unit: aclrtGetDeviceUtilizationRate reports vectorUtilization -1
# on Atlas 200/300/500 inference products (Ascend310) and Atlas training products (the
# first Ascend910 generation), per the ACL reference for that call.
_NO_VECTOR = re.compile(r"^Ascend(310|910(A|B|ProA|ProB|PremiumA)?)$")


def measures_vector(soc: str) -> bool:
    """Whether the device can report Vector utilisation (the A2/A3, 310P and 310B can)."""
    return not _NO_VECTOR.match(soc or "")

