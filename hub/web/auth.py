"""Bearer tokens and roles for the API.

``caller`` proves who is asking (a live token: not unknown, revoked or expired: else 401);
``staff_only`` and ``configurer`` add the role (403). A responder token carries its contact id:
routes that show alerts and notifications narrow to that contact (telecare.auth.scope).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from telecare.auth.tokens import CAN_CONFIGURE, verify

from .deps import runtime

bearer = HTTPBearer(auto_error=False, description="a token from `linkage token create NAME --role ROLE`")


@dataclass
class Caller:
    name: str
    role: str
    contact_id: int | None = None  # a responder's own contact record

    @property
    def is_staff(self) -> bool:
        return self.role in CAN_CONFIGURE


def caller(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Caller:
    if cred is None or cred.scheme.lower() != "bearer":
        raise HTTPException(
            401,
            "an API token is needed: Authorization: Bearer <token> "
            "(make one with `linkage token create NAME --role staff`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    hub = runtime(request)
    with hub.sessions() as s:
        row = verify(s, cred.credentials, hub.clock.now())
        if row is None:
            raise HTTPException(
                401, "that token is not valid, has expired or has been revoked", headers={"WWW-Authenticate": "Bearer"}
            )
        if row.role == "responder" and row.contact_id is None:  # made before tokens were bound, or contact removed
            raise HTTPException(
                401,
                "this responder token is not bound to a contact; ask for a new one "
                "(`linkage token create NAME --role responder --contact ID`)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Caller(row.name, row.role, row.contact_id)


def staff_only(who: Caller = Depends(caller)) -> Caller:
    """Check-ins, wellbeing, dead letters, devices, settings, metrics: the control room's, not a responder's."""
    if who.role not in CAN_CONFIGURE:
        raise HTTPException(403, f"a {who.role} token cannot see this; staff or admin can")
    return who


def configurer(who: Caller = Depends(caller)) -> Caller:
    if who.role not in CAN_CONFIGURE:
        raise HTTPException(403, f"a {who.role} token cannot change configuration; staff or admin can")
    return who
