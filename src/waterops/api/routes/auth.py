"""``/auth``: log in (a bearer token), log out, who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from waterops.api.deps import CurrentUser, ServicesDep, TokenDep
from waterops.api.schemas.auth import LoginCreate, TokenPublic
from waterops.api.schemas.users import UserPublic

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", responses={401: {}, 429: {}})
def login(body: LoginCreate, request: Request, services: ServicesDep) -> TokenPublic:
    """Log in with a user name and password; repeated failures are slowed (HTTP 429)."""
    address = request.client.host if request.client else "unknown"
    issued = services.auth.login(body.username, body.password, address)
    return TokenPublic(
        access_token=issued.token, expires_at=issued.expires_at, user=UserPublic.of(issued.user)
    )


@router.post("/logout", status_code=204, responses={401: {}})
def logout(_user: CurrentUser, token: TokenDep, services: ServicesDep) -> Response:
    """Revoke the token of this request."""
    services.auth.logout(token)
    return Response(status_code=204)


@router.get("/me", responses={401: {}})
def me(user: CurrentUser) -> UserPublic:
    """The account holding the token."""
    return UserPublic.of(user)
