"""The "Run (random input)" and "Bench (n)" row of a model's tab in the panel.

A small widget of its own so the panel only includes it: it calls the public API
(`acl_notebook.api.run` / `bench` / `random_inputs`) and shows the very objects they
return, rendered by `display` like anywhere else. Failures show as the one red line the
magics would print; the model stays loaded. The target may be a `Model` or a
`ModelGroup` (every device at once: a `DeviceOutputs` / `FleetBench`), and a group's tab
switches it between the whole group and one copy (`retarget`).
"""

from __future__ import annotations

import html
from typing import Any, Optional

import ipywidgets as W

from ..display import error_line, render_html

DEFAULT_RUNS = 100


class RunBox:
    """Buttons to run a model once on random inputs or to benchmark it, and the result."""

    def __init__(self, model: Any, runs: int = DEFAULT_RUNS, lead: tuple[W.Widget, ...] = ()) -> None:
        from ..runner.bench import MAX_RUNS  # the box cannot ask for more than a bench takes

        self.model = model  # a Model or a ModelGroup: whatever api.run / api.bench take
        #: the last Outputs or BenchResult shown (the same object the API returned)
        self.result: Optional[Any] = None
        self.run_button = W.Button(description="Run (random input)", icon="play", layout=W.Layout(width="auto"))
        self.runs = W.BoundedIntText(value=runs, min=1, max=MAX_RUNS, layout=W.Layout(width="90px"),
                                     tooltip="runs to time (after 5 warmup runs)")
        self.bench_button = W.Button(description=f"Bench ({runs})", icon="tachometer", layout=W.Layout(width="auto"))
        self.run_button.add_class("acl-run")
        self.bench_button.add_class("acl-bench")
        self.output = W.HTML("")
        self.output.add_class("acl-run-result")
        self.run_button.on_click(lambda _b: self.run())
        self.bench_button.on_click(lambda _b: self.bench())
        self.runs.observe(self._runs_changed, names="value")
        row = W.HBox([*lead, self.run_button, self.bench_button, self.runs])  # lead: e.g. a group's "Run on"
        row.add_class("acl-row")
        self.box = W.VBox([row, self.output])
        self._tooltips()

    def retarget(self, model: Any) -> None:
        """Run and bench `model` from now on (a group's tab: the whole group or one copy)."""
        self.model = model
        self._tooltips()

    def mark_stale(self, why: str) -> None:
        """Say above the result shown that it no longer describes the target (`why`)."""
        if self.result is not None:
            self.output.value = (f'<div class="acl-muted acl-note">{html.escape(why)}</div>'
                                 + render_html(self.result))

    def _what(self) -> str:
        """ "resnet50" or, for a group, "resnet50 on devices 0-3" (said in tooltips and busy lines)."""
        from ..display import device_span

        devices = getattr(self.model, "devices", None)
        return f"{self.model.name} on devices {device_span(devices)}" if devices else self.model.name

    def _tooltips(self) -> None:
        n = int(self.runs.value)
        self.run_button.tooltip = f"Run {self._what()} once on random inputs matching its descriptors"
        self.bench_button.tooltip = f"Time {n} runs of {self._what()} after 5 warmup runs"

    def _runs_changed(self, change: dict) -> None:
        self.bench_button.description = f"Bench ({change['new']})"
        self._tooltips()

    def _busy(self, text: str) -> None:
        self.run_button.disabled = self.bench_button.disabled = True
        self.output.value = f'<span class="acl-muted acl-note">{html.escape(text)}</span>'

    def _show(self, result: Any = None, error: Optional[BaseException] = None) -> None:
        self.run_button.disabled = self.bench_button.disabled = False
        if error is not None:
            self.output.value = f'<span class="acl-err acl-note">{html.escape(error_line(error))}</span>'
            return
        self.result = result
        self.output.value = render_html(result)

    def run(self) -> Any:
        """Run once on random inputs; returns the `Outputs` (a group's `DeviceOutputs`), also shown."""
        from .. import api

        self._busy(f"running {self._what()}...")
        try:
            out = api.run(self.model, api.random_inputs(self.model))
        except Exception as exc:  # shown in the tab: a click must never raise into the kernel
            self._show(error=exc)
            return None
        self._show(out)
        return out

    def bench(self) -> Any:
        """Benchmark with the chosen number of runs; returns the `BenchResult` (a group's
        `FleetBench`), also shown."""
        from .. import api

        n = int(self.runs.value)
        self._busy(f"timing {n} runs of {self._what()}...")
        try:
            result = api.bench(self.model, n)
        except Exception as exc:
            self._show(error=exc)
            return None
        self._show(result)
        return result

    def close(self) -> None:
        for widget in (self.run_button, self.bench_button, self.runs, self.output, *self.box.children, self.box):
            widget.close()


__all__ = ["RunBox"]
