from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"] = "ok"


class ProblemTypeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    title: str
    status: int
    description: str
