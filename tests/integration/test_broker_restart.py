"""Every consumer carries on after the broker restarts (the test broker keeps nothing: its
topics and consumer groups come back empty, as after losing a cluster's data): a person
registered afterwards reaches the notification service's projection, which reads from four
consumer groups in one process. Without runtime.consumer_thread's check of a partition that
ends before the consumer's position, two of those groups waited for ever."""

from __future__ import annotations

import pytest

import devstack
from tests.helpers import Tree
from tests.notification_helpers import NotificationDb

# Tansu answers some fetches of a restarted, empty broker only after 30 s: a minute or two.
RECOVERY_S = 180.0


@pytest.mark.restarts_broker
def test_consumers_carry_on_after_a_broker_restart(
        tree: Tree, stack: devstack.Stack, notification: str, notify_db: NotificationDb) -> None:
    before = tree.register()
    notify_db.wait_recipients([before.person_id])
    devstack.stop_broker(stack)
    devstack.start_broker(stack)
    after = tree.register()
    notify_db.wait_recipients([after.person_id], timeout=RECOVERY_S)
