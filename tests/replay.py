"""Replaying stored audit events against the transition table (shared by several tests)."""
from __future__ import annotations

from sqlalchemy import select

from models import Incident, IncidentEvent
from models.enums import Action, State
from models.lifecycle import TRANSITIONS


def assert_legal_histories(session, *conditions) -> int:
    """Replay every matching incident's events, in the order they were written, against the
    transition table; returns how many incidents were replayed."""
    events = session.execute(
        select(IncidentEvent.incident_id, IncidentEvent.version, IncidentEvent.action,
               IncidentEvent.from_state, IncidentEvent.to_state, IncidentEvent.at,
               Incident.state.label("incident_state"), Incident.version.label("incident_version"))
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(*conditions)
        .order_by(IncidentEvent.incident_id, IncidentEvent.id)
    ).all()
    histories: dict[int, list] = {}
    for event in events:
        histories.setdefault(event.incident_id, []).append(event)
    for incident_id, history in histories.items():
        first = history[0]
        assert (first.action, first.to_state) == (Action.REPORT, State.REPORTED), incident_id
        assert [e.version for e in history] == list(range(1, len(history) + 1)), incident_id
        assert [e.at for e in history] == sorted(e.at for e in history), incident_id
        state, alarm = first.to_state, False
        for event in history[1:]:
            sources, target = TRANSITIONS[Action(event.action)]
            step = f"incident {incident_id}: {event.action} {event.from_state}→{event.to_state}"
            assert event.from_state == state, f"{step}, but it was {state}"
            assert state in sources, f"{step} is illegal"
            assert event.to_state == (target or state), f"{step} goes to the wrong state"
            if event.action == Action.ACK_ALARM:
                assert alarm, f"{step} acknowledges no breach alarm"
            alarm = event.action == Action.BREACH or (alarm and event.action != Action.ACK_ALARM)
            state = event.to_state
        assert state == first.incident_state, f"incident {incident_id} ends {state}"
        assert first.incident_version == len(history), incident_id
    return len(histories)
