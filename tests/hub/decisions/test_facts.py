"""What an entry decision reads: the door's and room's facts of its window, the last "do not disturb" change
before the window, however long ago and however many changes the window itself holds, and each fact's clock."""

from sqlalchemy import select

from hub.db.models import StoredEvent
from hub.decisions.facts import RECENT_DND, clock_offsets, facts_around
from hub.rules.entries import LOOK_BACK
from tests.hub.conftest import DEVICE
from tests.hub.decisions.conftest import Door
from tests.hub.decisions.test_clocks import heartbeat


def test_the_last_do_not_disturb_change_before_the_window_is_found_behind_many_inside_it(door: Door) -> None:
    window_s = 2 * LOOK_BACK.total_seconds()
    door.play(door.event("dnd.off", -5 * 3600), door.event("dnd.on", -4 * 3600))
    # More changes of each kind inside the window than are read at once: the one before needs its own look.
    inside = [door.event(kind, -window_s + 60 + 10 * n + (5 if kind == "dnd.off" else 0))
              for n in range(RECENT_DND + 1) for kind in ("dnd.on", "dnd.off")]
    door.play(*inside, door.event("door.opened", 0))
    with door.sessions() as session:
        opened = session.scalars(select(StoredEvent).where(StoredEvent.device == DEVICE,
                                                           StoredEvent.type == "door.opened")).one()
        facts = facts_around(session, opened)
    dnd = sorted((fact.seq, fact.type) for fact in facts if fact.type.startswith("dnd."))
    assert dnd[0] == (2, "dnd.on")  # the change before the window: the one in force when it began
    assert len(dnd) == 1 + 2 * (RECENT_DND + 1) and (1, "dnd.off") not in dnd


def test_each_fact_takes_the_offset_of_the_heartbeat_before_it_however_far_apart(door: Door) -> None:
    """A "do not disturb" from long ago and tonight's knock, many heartbeats apart, each placed by its own one."""
    door.play(heartbeat(door, -30 * 86400, 1000), door.event("dnd.on", -30 * 86400 + 5),
              *[heartbeat(door, -29 * 86400 + 60 * n, 2000) for n in range(50)],
              heartbeat(door, -60, 3000), door.knock(0), heartbeat(door, 60, 4000))
    with door.sessions() as session:
        rows = session.scalars(select(StoredEvent).where(
            StoredEvent.device == DEVICE, StoredEvent.type.in_(["dnd.on", "knock.requested"]))).all()
        offsets = clock_offsets(session, rows)
    assert {row.type: offsets[row.id] for row in rows} == {"dnd.on": 1000, "knock.requested": 3000}
