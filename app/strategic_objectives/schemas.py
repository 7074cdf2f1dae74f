"""Strategic objectives as the API shows them: reference data, identified by `code`."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# The lengths of the stored columns (app/models/reference.py).
CODE_MAX_LENGTH = 32
TITLE_MAX_LENGTH = 500


class Framework(StrEnum):
    framework_2012_2019 = "2012-2019"
    framework_2020_2030 = "2020-2030"


class StrategicObjectiveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    code: str = Field(
        max_length=CODE_MAX_LENGTH,
        description="Stable identifier, e.g. `2020-2030.A`.",
        examples=["2020-2030.A"],
    )
    framework: Framework
    letter: str = Field(min_length=1, max_length=1)
    title: str = Field(max_length=TITLE_MAX_LENGTH)
