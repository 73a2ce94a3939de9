"""Words of the work pages: {key: (zh-CN, English)}."""

MESSAGES: dict[str, tuple[str, str]] = {
}
