"""After a test restarts the session's broker (which keeps nothing), the session's running
services must have found their way back before the next test relies on them: the consumers of
a restarted empty broker start again from the beginning of each partition
(runtime.consumer_thread), which can take a minute with Tansu's slow answers."""

from __future__ import annotations

import devstack
from tests.aid_helpers import wait_projected
from tests.helpers import Tree
from tests.notification_helpers import NotificationDb

RECOVERY_S = 180.0


def wait_consumers_back(stack: devstack.Stack, tree: Tree) -> None:
    """A person registered now reaches every running projection of the session."""
    probe = tree.register()
    if "notification" in stack.procs:
        NotificationDb(stack.database_url("notification")).wait_recipients(
            [probe.person_id], timeout=RECOVERY_S)
    if "aid" in stack.procs:
        wait_projected(stack.database_url("aid"), [probe.person_id], timeout=RECOVERY_S)
