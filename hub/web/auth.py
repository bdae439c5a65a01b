"""Bearer tokens and roles for the API."""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from telecare.auth.tokens import CAN_CONFIGURE, verify

bearer = HTTPBearer(auto_error=False, description="a token from `linkage token create NAME --role ROLE`")


@dataclass
class Caller:
    name: str
    role: str


def caller(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    if cred is None or cred.scheme.lower() != "bearer":
        raise HTTPException(401, "an API token is needed: Authorization: Bearer <token> "
                                 "(make one with `linkage token create NAME --role staff`)",
                            headers={"WWW-Authenticate": "Bearer"})
    with request.app.state.hub.sessions() as s:
        row = verify(s, cred.credentials)
        if row is None:
            raise HTTPException(401, "that token is not valid or has been revoked",
                                headers={"WWW-Authenticate": "Bearer"})
        return Caller(row.name, row.role)


def configurer(who: Caller = Depends(caller)) -> Caller:
    if who.role not in CAN_CONFIGURE:
        raise HTTPException(403, f"a {who.role} token cannot change configuration; staff or admin can")
    return who
