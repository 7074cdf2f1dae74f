from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.errors import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH, TYPE_MAX_LENGTH


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"] = "ok"


class ProblemTypeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(max_length=TYPE_MAX_LENGTH)
    title: str = Field(max_length=TITLE_MAX_LENGTH)
    status: int = Field(ge=400, le=599)
    description: str = Field(max_length=DESCRIPTION_MAX_LENGTH)
