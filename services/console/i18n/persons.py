"""Words of the persons pages: {key: (zh-CN, English)}."""

MESSAGES: dict[str, tuple[str, str]] = {
}
