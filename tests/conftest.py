"""Shared fixtures: the real models, an isolated IPython/Jupyter home, and the two backends."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO.parent / "shared" / "models"

# Keep the user's IPython/Jupyter configuration out of every test run.
_HOME = Path(tempfile.mkdtemp(prefix="acl-notebook-test-home-"))
os.environ.setdefault("IPYTHONDIR", str(_HOME / "ipython"))
os.environ.setdefault("MPLBACKEND", "agg")
# Tests choose their backend explicitly; never let a developer's env pick one.
os.environ.pop("ACL_NOTEBOOK_BACKEND", None)
os.environ.pop("ACL_NOTEBOOK_SOC", None)

REAL_MODELS = ("a3c_pong_model_v2", "my_122_anenet")
# The SoC each real model was built for ("" = no soc_version in the file: loads anywhere).
REAL_MODEL_SOC = {"a3c_pong_model_v2": "", "my_122_anenet": "Ascend310B4"}


def model_path(name: str) -> Path:
    path = MODELS_DIR / f"{name}.om"
    if not path.is_file():
        raise FileNotFoundError(
            f"test model {path} is missing: the tests expect ../shared/models beside the repository"
        )
    return path


def expected(name: str) -> dict:
    return json.loads((MODELS_DIR / f"{name}.expect.json").read_text())


@pytest.fixture(scope="session")
def models_dir() -> Path:
    if not MODELS_DIR.is_dir():
        pytest.fail(f"{MODELS_DIR} is missing: the tests expect ../shared/models beside the repository")
    return MODELS_DIR
