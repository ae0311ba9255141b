"""Login and tokens at the HTTP edge."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from waterops.api.schemas.common import Username
from waterops.api.schemas.users import UserPublic

LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class LoginCreate(BaseModel):
    """A login attempt."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    password: LoginPassword


class TokenPublic(BaseModel):
    """A bearer token, shown once."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    user: UserPublic
