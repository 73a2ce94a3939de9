"""Words of the stats pages: {key: (zh-CN, English)}."""

MESSAGES: dict[str, tuple[str, str]] = {
}
