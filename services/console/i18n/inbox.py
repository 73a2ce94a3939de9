"""Words of the inbox pages: {key: (zh-CN, English)}."""

MESSAGES: dict[str, tuple[str, str]] = {
}
