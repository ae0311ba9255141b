"""Accounts at the HTTP edge (never with a password hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from waterops.api.schemas.common import Password, ShortText, Username
from waterops.model.accounts import Role, User

CustomerRole = Literal["household_customer", "enterprise_customer"]
StaffRole = Literal[
    "dispatcher",
    "water_quality_engineer",
    "service_agent",
    "field_crew",
    "planner",
    "administrator",
]


class UserBase(BaseModel):
    """Fields every account has."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    display_name: ShortText | None = None
    email: ShortText | None = None


class UserCreate(UserBase):
    """A customer opens an account."""

    password: Password
    role: CustomerRole = "household_customer"


class StaffCreate(UserBase):
    """An administrator creates a staff account."""

    password: Password
    role: StaffRole


class UserUpdate(BaseModel):
    """What an administrator may change of an account (fields left out stay as they are)."""

    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    role: CustomerRole | StaffRole | None = None
    display_name: ShortText | None = None
    email: ShortText | None = None


class UserPublic(UserBase):
    """An account as shown."""

    id: int
    role: Role
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        """The public view of ``user``."""
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name or None,
            email=user.email,
            role=user.role,
            active=user.active,
            created_at=user.created_at,
        )


class AuditLinePublic(BaseModel):
    """One line of the audit trail of staff actions."""

    id: int
    at: datetime
    actor: str
    action: str
    target_kind: str
    target_id: int
    before: dict[str, Any]
    after: dict[str, Any]
