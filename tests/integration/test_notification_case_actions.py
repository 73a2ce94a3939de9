"""An aid case's action not done in time reaches the grid team and the liaison, urgently, in
words (the real aid scan → the broker → the notification service)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import psycopg

import devstack
from aid.config import Aid, AidRules
from aid.service.case_actions import scan_case_actions
from cdsp.aid.v1 import aid_pb2 as apb
from cdsp.notification.v1 import notification_pb2 as pb
from runtime.db import Database
from tests.aid_helpers import aid_admin, wait_projected
from tests.helpers import Tree
from tests.notification_helpers import NotificationDb, notify_admin, wait_until

INBOX_DELIVERED = 3


async def test_a_breached_case_action_reaches_the_grid_team_and_the_liaison(
        tree: Tree, aid: str, notification: str, notify_db: NotificationDb,
        stack: devstack.Stack) -> None:
    household = tree.household(income_fen=300_000)
    person = tree.register(household)  # liaison gw-01
    wait_projected(stack.database_url("aid"), [person.person_id])
    notify_db.wait_recipients([person.person_id])
    case = aid_admin(tree, aid).ReportHardship(apb.ReportHardshipRequest(
        household_id=household.household_id, kind=apb.HARDSHIP_KIND_ACCIDENT)).case
    with psycopg.connect(stack.database_url("aid"), autocommit=True) as conn, \
            conn.transaction():
        conn.execute("SELECT set_config('cdsp.scope', '/%', true)")
        conn.execute("UPDATE case_actions SET due_at = now() - interval '1 hour' "
                      "WHERE case_id = %s", [case.case_id])
    db = Database(stack.database_url("aid"), "aid", 1, 2)
    await db.open()
    try:
        await scan_case_actions(Aid(db, AidRules(), ZoneInfo("Asia/Shanghai")))
    finally:
        await db.close()

    def notices() -> list[tuple[object, ...]]:
        found = notify_db.rows(
            "SELECT recipient_kind, recipient_id, urgent, title, body FROM notices "
            "WHERE source_event_type = 'cdsp.events.v1.CaseActionBreached' "
            "AND jurisdiction_path = %s ORDER BY 1", [tree.grid_paths[0]])
        return found if len(found) >= 2 else []

    rows = wait_until(notices, "the breach's notices")
    assert [(kind, recipient, urgent) for kind, recipient, urgent, _, _ in rows] == [
        ("grid_team", tree.grid_paths[0], True), ("liaison", "gw-01", True)]
    for _, _, _, title, body in rows:
        assert title == "帮扶事项逾期：慈善救助"
        # Workers read the household's label (partners' webhooks receive these notices).
        label = f"编号{person.person_id[:8]}服务对象的家庭"
        assert body.startswith(f"{label}的帮扶事项「慈善救助」应在")
        assert "王小明" not in body
        assert "charity_relief" not in body

    def in_inbox() -> list[pb.Notice]:  # the inbox lists a notice once its delivery is done
        inbox = notify_admin(tree, notification).ListInbox(pb.ListInboxRequest(
            recipient_id=tree.grid_paths[0]))
        return [n for n in inbox.notices if n.title == "帮扶事项逾期：慈善救助"]

    [notice] = wait_until(in_inbox, "the breach in the grid team's inbox")
    assert notice.urgency == pb.NOTICE_URGENCY_URGENT
    assert all(d[3] == INBOX_DELIVERED for d in notify_db.settled(notice.source_event_id))
