"""What an entry decision reads: the door's and room's facts of its window, and the last "do not disturb" change
before the window, however long ago and however many changes the window itself holds."""

from sqlalchemy import select

from hub.db.models import StoredEvent
from hub.decisions.facts import RECENT_DND, facts_around
from hub.rules.entries import LOOK_BACK
from tests.hub.conftest import DEVICE
from tests.hub.decisions.conftest import Door


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
