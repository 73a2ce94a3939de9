"""How to reach a person, published apart from the record (events.CONTACTS_TOPIC).

The general topic cdsp.registry.v1 is read by every service and, soon, partners; none of them
needs a resident's name, phone or guardian. The notification service, which reaches people,
reads them from the restricted contacts topic instead: one PersonContact at the person's version
whenever they may have changed (registration, a change of a contact field, reactivation) and an
erased one when the record is archived, in the same unit of work as the record's own event.
"""

from __future__ import annotations

from registry.domain import events
from registry.domain.person import Person
from runtime.db import UnitOfWork


def record_contact(uow: UnitOfWork, person: Person) -> None:
    uow.record(events.person_contact(person), aggregate_type=events.CONTACT_AGGREGATE,
               aggregate_id=person.person_id, version=person.version,
               jurisdiction_path=person.jurisdiction_path, topic=events.CONTACTS_TOPIC)


def contact_changed(changed: list[str]) -> bool:
    """Whether an update touched a field the contact carries."""
    return any(field in events.CONTACT_FIELDS for field in changed)
