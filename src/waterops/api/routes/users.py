"""``/users``: customers register; an administrator creates staff; staff look accounts up."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from waterops.api.deps import CurrentUser, PageParams, ServicesDep, requires
from waterops.api.schemas.common import Page, RecordId, Username
from waterops.api.schemas.users import (
    AuditLinePublic,
    StaffCreate,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from waterops.errors import RecordNotFoundError
from waterops.model.accounts import Permission, Role, User, has_permission

router = APIRouter(prefix="/users", tags=["users"])


@router.post("/register", status_code=201, responses={422: {}})
def register(body: UserCreate, services: ServicesDep) -> UserPublic:
    """A household or an enterprise opens a customer account."""
    user = services.auth.register_customer(
        body.username,
        body.password,
        Role(body.role),
        display_name=body.display_name or "",
        email=body.email,
    )
    return UserPublic.of(user)


@router.post("", status_code=201, responses={401: {}, 403: {}, 422: {}})
def create_staff(
    body: StaffCreate,
    services: ServicesDep,
    admin: Annotated[User, Depends(requires(Permission.USERS_MANAGE))],
) -> UserPublic:
    """An administrator creates a staff account (audited)."""
    user = services.auth.create_staff(
        admin,
        body.username,
        body.password,
        Role(body.role),
        display_name=body.display_name or "",
        email=body.email,
    )
    return UserPublic.of(user)


@router.get("", responses={401: {}, 403: {}})
def list_users(
    services: ServicesDep,
    page: PageParams,
    _staff: Annotated[User, Depends(requires(Permission.USERS_READ))],
) -> Page[UserPublic]:
    """Accounts, by id."""
    users, total = services.accounts.users(limit=page.limit, offset=page.offset)
    return Page(
        items=[UserPublic.of(u) for u in users], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/audit-log", responses={401: {}, 403: {}})
def audit_log(
    services: ServicesDep,
    page: PageParams,
    _admin: Annotated[User, Depends(requires(Permission.AUDIT_READ))],
    actor: Annotated[Username | None, Query(description="only this user's actions")] = None,
) -> Page[AuditLinePublic]:
    """The audit trail of staff actions, oldest first (administrators)."""
    lines, total = services.accounts.audit_page(actor=actor, limit=page.limit, offset=page.offset)
    return Page(
        items=[AuditLinePublic.model_validate(line) for line in lines],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{user_id}", responses={401: {}, 404: {}})
def get_user(
    user_id: Annotated[RecordId, Path()], user: CurrentUser, services: ServicesDep
) -> UserPublic:
    """One account: one's own, or any for staff who may read accounts."""
    if user_id != user.id and not has_permission(user.role, Permission.USERS_READ):
        raise RecordNotFoundError("user", user_id)
    return UserPublic.of(services.accounts.user(user_id))


@router.patch("/{user_id}", responses={401: {}, 403: {}, 404: {}, 422: {}})
def update_user(
    user_id: Annotated[RecordId, Path()],
    body: UserUpdate,
    services: ServicesDep,
    admin: Annotated[User, Depends(requires(Permission.USERS_MANAGE))],
) -> UserPublic:
    """An administrator deactivates an account, changes its role or names (audited)."""
    user = services.auth.update_user(
        admin,
        user_id,
        active=body.active,
        role=None if body.role is None else Role(body.role),
        display_name=body.display_name,
        email=body.email,
    )
    return UserPublic.of(user)
