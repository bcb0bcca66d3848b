"""What the panel offers for a model the runtime refused: advice, and which buttons make sense.

Kept apart from the widgets so the rules read (and test) in one place:

- the memory pre-check refused it: "Load anyway" (``force=True``) makes sense, because the
  pre-check is ours and the runtime may still find room; unloading the candidates too;
- the runtime refused the SoC (507008): forcing cannot help; on the simulator with nothing
  loaded, switching the simulated SoC to the model's can, so that is offered;
- the runtime itself ran out of memory: only unloading helps, then "Try again";
- anything else: the error's own hint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..units import human_bytes

FORCE = "force"
RETRY = "retry"
SWITCH_SOC = "switch_soc"


@dataclass(frozen=True)
class Plan:
    advice: tuple[str, ...]
    offers: tuple[str, ...]  # RETRY, FORCE, SWITCH_SOC
    soc: str = ""  # the SoC to switch to, for SWITCH_SOC


def plan_for(error: BaseException, info: Any, *, simulated: bool, loaded: Sequence[str], socs: Sequence[str],
             device_soc: str) -> Plan:
    """Advice and offers for `error`, raised loading the model `info` describes.

    `loaded` are the names of the models loaded now, `socs` the SoCs the simulator knows,
    `device_soc` the SoC the device is (or simulates).
    """
    name = getattr(error, "name", "")
    if type(error).__name__ == "DeviceMemoryError":
        advice = []
        candidates = getattr(error, "candidates", ())
        if candidates:
            names = ", ".join(f"{n} ({human_bytes(b)})" for n, b in candidates)
            advice.append(f"Unload {names} to make room, then load it again.")
        advice.append("Load anyway skips our memory pre-check; the runtime then decides, and refuses with "
                      "ACL_ERROR_RT_MEMORY_ALLOCATION if the model really does not fit.")
        return Plan(tuple(advice), (RETRY, FORCE))
    if name == "ACL_ERROR_RT_SOC_VERSION":
        model_soc = getattr(info, "soc_version", "") or ""
        if not simulated:
            return Plan((f"This device is {device_soc}: rebuild the model for it with ATC "
                         f"(--soc_version={device_soc}).",), ())
        if model_soc not in socs:
            return Plan((f"The simulator has no {model_soc or 'such'} profile; rebuild the model for "
                         f"{device_soc} or pick a simulated SoC of its family with %acl_config --soc.",), ())
        if loaded:
            return Plan((f"The simulated device is {device_soc} and {len(loaded)} model(s) are loaded "
                         f"({', '.join(loaded)}): unload them, then switch the simulated SoC to {model_soc} "
                         f"(here, or %acl_config --soc {model_soc}).",), ())
        return Plan((f"Nothing is loaded, so the simulator can take the model's SoC, {model_soc}: "
                     f"\"Simulate {model_soc} and load\" does that (the same as %acl_config --soc {model_soc}).",),
                    (SWITCH_SOC,), model_soc)
    if name == "ACL_ERROR_RT_MEMORY_ALLOCATION":
        return Plan(("The runtime could not allocate the model's memory: unload other models and try again.",),
                    (RETRY,))
    hint = getattr(error, "hint", "")
    return Plan((hint,) if hint else (), ())


__all__ = ["FORCE", "RETRY", "SWITCH_SOC", "Plan", "plan_for"]
