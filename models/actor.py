"""Who is acting, and whether their role and jurisdiction let them act on an incident."""
from __future__ import annotations

from dataclasses import dataclass

from models.enums import Action, Role
from models.errors import Forbidden
from models.incident import Incident
from models.org import Staff

_LEADS = frozenset({Role.SHIFT_LEAD, Role.ADMIN, Role.SYSTEM})
_DEPARTMENT_WORK = _LEADS | {Role.HANDLER}

# Which roles may take each action. Jurisdiction is checked separately, per role.
ROLES: dict[Action, frozenset[Role]] = {
    Action.REPORT: _LEADS | {Role.GRID_WORKER},
    Action.ACCEPT: _LEADS,
    Action.INVALIDATE: _LEADS,
    Action.DUPLICATE: _LEADS,
    Action.NOT_OURS: _LEADS,
    Action.SELF_HANDLE: frozenset({Role.GRID_WORKER, Role.ADMIN, Role.SYSTEM}),
    Action.DISPATCH: _LEADS,
    Action.REASSIGN: _LEADS,
    Action.ESCALATE: _LEADS,
    Action.ACKNOWLEDGE: _DEPARTMENT_WORK,
    Action.RETURN: _DEPARTMENT_WORK,
    Action.START: _DEPARTMENT_WORK,
    Action.HOLD: _DEPARTMENT_WORK,
    Action.RESUME: _DEPARTMENT_WORK,
    Action.RESOLVE: _DEPARTMENT_WORK,
    Action.REWORK: _LEADS | {Role.GRID_WORKER},
    Action.CLOSE: _LEADS | {Role.GRID_WORKER},
    Action.REOPEN: _LEADS,
    Action.RATE: _LEADS | {Role.OPERATOR},
    Action.BREACH: frozenset({Role.SYSTEM}),
    Action.ACK_ALARM: _LEADS,
}


@dataclass(frozen=True)
class Actor:
    role: Role
    name: str
    id: int | None = None
    area_id: int | None = None
    department_id: int | None = None

    @classmethod
    def from_staff(cls, staff: Staff) -> Actor:
        return cls(staff.role, staff.name, staff.id, staff.area_id, staff.department_id)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(Role.SYSTEM, name)

    def covers(self, incident: Incident) -> bool:
        """Whether the incident lies in this actor's jurisdiction."""
        if self.role in (Role.SYSTEM, Role.ADMIN):
            return True
        if self.role == Role.HANDLER:
            return incident.department_id == self.department_id
        return self.area_id in incident.area_path()


def check_allowed(actor: Actor, action: Action, incident: Incident) -> None:
    if actor.role not in ROLES[action]:
        raise Forbidden(f"role {actor.role} may not {action} incidents")
    if not actor.covers(incident):
        raise Forbidden(f"incident {incident.id} is outside {actor.name}'s jurisdiction")
