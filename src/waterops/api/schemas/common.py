"""Field types shared by the schemas, and the page of a list route.

Text fields refuse control characters (NUL above all: PostgreSQL cannot store it in text, and
no name, address or note needs one) so a bad request is a 422, never a database fault.
"""

from __future__ import annotations

import re
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(text: str) -> str:
    if _CONTROL.search(text):
        raise ValueError("control characters are not allowed")
    return text


ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_control_characters)
]
LongText = Annotated[
    str, StringConstraints(max_length=2000), AfterValidator(_no_control_characters)
]
Username = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
Password = Annotated[
    str, StringConstraints(min_length=10, max_length=256), AfterValidator(_no_control_characters)
]
RecordId = Annotated[int, Field(ge=1, le=2_147_483_647)]
"""A database id (a 32-bit integer column on PostgreSQL)."""

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total count for paging."""

    items: list[T]
    total: int
    limit: int
    offset: int
