"""Dependencies of the routes (``Annotated``): the services, the current user, role checks,
pagination.

A route names what it needs in its signature::

    @router.get("/things")
    def list_things(user: CurrentUser, page: PageParams, services: ServicesDep) -> ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from waterops.errors import AuthenticationError
from waterops.model.accounts import Permission, User
from waterops.service.auth import AuthService, require
from waterops.service.connections import ConnectionService
from waterops.service.documents import DocumentService
from waterops.store.accounts_store import AccountsStore


@dataclass
class Services:
    """What the application's routes work with, built once by ``create_app``."""

    auth: AuthService
    connections: ConnectionService
    documents: DocumentService
    accounts: AccountsStore


def get_services(request: Request) -> Services:
    """The application's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")


def get_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The bearer token of the request, or 401."""
    if credentials is None or not credentials.credentials:
        raise AuthenticationError("no bearer token; log in at POST /api/v1/auth/login")
    return credentials.credentials


TokenDep = Annotated[str, Depends(get_token)]


def get_current_user(services: ServicesDep, token: TokenDep) -> User:
    """The user holding the request's token, or 401."""
    return services.auth.authenticate(token)


CurrentUser = Annotated[User, Depends(get_current_user)]


def requires(permission: Permission) -> Callable[[User], User]:
    """A dependency: the current user if their role grants ``permission``, else 403."""

    def check(user: CurrentUser) -> User:
        require(user, permission)
        return user

    return check


@dataclass(frozen=True)
class Pagination:
    """``limit``/``offset`` of a list route."""

    limit: int
    offset: int


def get_pagination(
    limit: Annotated[int, Query(ge=1, le=200, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")] = 0,
) -> Pagination:
    """The page asked for (every list route uses this)."""
    return Pagination(limit, offset)


PageParams = Annotated[Pagination, Depends(get_pagination)]
