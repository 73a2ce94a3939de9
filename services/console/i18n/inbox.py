"""Words of the inbox pages: {key: (zh-CN, English)}."""

MESSAGES: dict[str, tuple[str, str]] = {
    "inbox.title": ("消息", "Inbox"),
    "inbox.intro": ("发给您本人的消息，以及发给您负责辖区（如您的网格团队）的消息，最新的在前。"
                    "页面打开时新消息会自动出现，紧急消息会由读屏软件立即播报。",
                    "Notices for you, and for the teams of the jurisdictions you cover (such as "
                    "your grid's team), newest first. While this page is open new notices "
                    "appear by themselves; urgent ones are read out by screen readers at once."),
    "inbox.list": ("最新消息", "Latest notices"),
    "inbox.empty": ("暂时没有消息。", "There are no notices yet."),
    "inbox.shown": ("显示最新的{count}条消息。", "The latest {count} notices are shown."),
    "inbox.urgent": ("紧急", "Urgent"),
    "inbox.normal": ("普通", "Normal"),
    "inbox.to_me": ("发给：我", "To: you"),
    "inbox.to_team": ("发给：{place}团队", "To: the team of {place}"),
    "inbox.announce_urgent": ("紧急消息：{title}", "Urgent notice: {title}"),
    "inbox.announce": ("新消息：{title}", "New notice: {title}"),
    # console.js fills {n} itself: translate() leaves the braces when given no values.
    "inbox.count_label": ("{n} 条新消息", "{n} new notices"),
    "inbox.stream_signed_out": ("请先登录。", "Sign in first."),
}
