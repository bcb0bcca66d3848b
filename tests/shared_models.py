"""Where the real test models are and what they should read as (../shared/models)."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO.parent / "shared" / "models"

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
