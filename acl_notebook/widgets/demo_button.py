"""A "Try the digits model" button: build the trained demo CNN and load it, for the Voila page.

It sits beside the panel (``display(acl.panel(), digits_button())``) rather than inside it,
and talks only to the public API: `acl_notebook.demo.digits` makes the bytes, `load` loads
them, and the panel shows the new model because it follows the session. Building trains the
network (a few seconds), so the click runs it on a worker thread and the button says what is
happening; a failure is one line under the button and leaves every loaded model as it was.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

import ipywidgets as W

from .. import api
from ..display import error_line

LABEL = "Try the digits model"
_ERROR = "#c62828"  # success lines keep the theme's text colour (None)


class DigitsButton:
    """The button and its status line; `widget` is what to display, `loaded` the model once loaded."""

    def __init__(self, *, gears: tuple[int, ...] = (1, 4, 8), soc: Optional[str] = None,
                 background: bool = True) -> None:
        self.gears = gears
        self.soc = soc
        self.background = background
        self.loaded: Any = None
        self.button = W.Button(description=LABEL, icon="play", button_style="success",
                               tooltip="train a small CNN on generated digits and load it from memory",
                               layout=W.Layout(width="auto"))
        self.status = W.Label("Two conv + pool layers and a dense head, trained in seconds when you click; "
                              "on the simulator its answers are the network's own.")
        self.widget = W.HBox([self.button, self.status], layout=W.Layout(align_items="center"))
        self.button.on_click(self._clicked)
        self._thread: Optional[threading.Thread] = None

    def _clicked(self, _button: Any = None) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self.button.disabled = True
        self._say("Generating digits and training the CNN...")
        if self.background:
            self._thread = threading.Thread(target=self._build_and_load, name="acl-digits-demo", daemon=True)
            self._thread.start()
        else:
            self._build_and_load()

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until a click's work is done (for tests and scripted demos)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _build_and_load(self) -> None:
        from ..demo import digits

        try:
            for model in api.models():
                if model.info.name == digits.NAME:
                    self.loaded = model
                    self._say(f"{model.name} is already loaded: see its tab in the panel.")
                    return
            built = digits.build(gears=self.gears, soc=self.soc or api.info().soc)
            self.loaded = api.load(built.om, name="digits", label="demo:digits")
            gears = "/".join(map(str, built.gears)) or "1"
            self._say(f"Loaded {self.loaded.name}: {built.accuracy:.1%} right on {len(built.labels)} held-back "
                      f"digits, batch gears {gears}. Its tab is in the panel.")
        except Exception as exc:  # one line under the button; the session is unchanged
            self._say(error_line(exc), error=True)
        finally:
            self.button.disabled = False

    def _say(self, text: str, error: bool = False) -> None:
        self.status.value = text
        self.status.style.text_color = _ERROR if error else None


def digits_button(**kwargs: Any) -> W.Widget:
    """The button's widget, ready to display (keyword arguments go to `DigitsButton`)."""
    return DigitsButton(**kwargs).widget

