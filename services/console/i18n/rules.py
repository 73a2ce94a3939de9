"""The services' rule descriptions (their BadRequest field violations, in English) in the
worker's language. A description not listed here is shown as the service gave it, marked as
English for screen readers."""

from __future__ import annotations

import re

# English description (exact) -> zh-CN
EXACT: dict[str, str] = {
    "required": "必填",
    "required, at most 50 characters": "必填，不超过50个字",
    "required, at most 100 characters": "必填，不超过100个字",
    "must be one of the 7 categories (1-7)": "请选择残疾类别（7类之一）",
    "must be 1 (most severe) to 4": "等级须为1（最重）至4级",
    "must be 0 to 4": "等级须为0至4级",
    "must be empty when the person is not certified": "未持证时不填写残疾证号",
    "must be a mainland mobile (11 digits) or a landline with area code":
        "请填写11位手机号，或带区号的固定电话",
    "must be a valid phone": "请填写有效的电话号码",
    "must be one of the contact channels": "请选择联系方式",
    "must be alone, with family or in an institution": "请选择居住情况：独居、与家人同住或机构",
    "at most 500 characters": "不超过500个字",
    "each need code at most once": "每项需求只能选一次",
    "must be a UUID": "编号格式不正确",
    "must be 17 digits followed by a digit or X": "须为17位数字加1位数字或X",
    "area code cannot start with 0": "地区码不能以0开头",
    "embedded birth date is not a real date": "身份证号中的出生日期不存在",
    "embedded birth date is before 1900 or in the future":
        "身份证号中的出生日期早于1900年或晚于今天",
    "check digit does not match (GB 11643 MOD 11-2)": "校验位不正确，请核对身份证号（GB 11643）",
    "category must be 1-7 and grade 1-4 for a certificate": "持证人员须有类别（1-7）和等级（1-4）",
    "first 18 characters must be the person's resident ID": "残疾证号前18位须为本人身份证号",
    "every person has a liaison (一人一联系员)": "每人须有一名联系员（一人一联系员）",
    "is required when refusing": "拒绝时须填写理由",
    "must be in the past or now": "不能晚于现在",
    # aid: cases, the 30-minute loop, relief, kits (the work pages)
    "cannot be in the future": "不能晚于现在",
    "at most 62 days ago": "不能早于62天前",
    "integer fen, more than 0, at most 10 million yuan": "金额须大于0，且不超过1000万元",
    "required: the household's open aid case the relief is granted on":
        "须指定该家庭未结案的救助个案",
    "belongs to another household": "该个案不属于此家庭",
    "cannot be before the case was opened": "不能早于立案时间",
    "cannot be before the team was dispatched": "不能早于派单时间",
    "required: the grid's code, letters, digits and '-', at most 32": "请选择网格",
    "2 to 40 lower-case letters or '_' (wheelchair, nursing_pads, ...)":
        "物品代码须为2至40个小写字母或下划线",
    "1 to 1000": "须为1至1000",
    # registry: the persons and household pages
    "must be moved out or deceased": "请选择归档原因：迁出或已故",
    "only children under 3 may be registered without a certificate":
        "只有3岁以下的儿童可以不持证登记",
    "phone or SMS needs a phone number (own or guardian's)":
        "选择电话或短信联系时，须填写本人或监护人的电话",
    "lower-case letters, digits and _, 2-40 characters": "请从列表中选择需求类别",
    "must be an existing grid": "请选择已有的网格",
    "integer fen, not negative, at most 100 million yuan": "金额不能为负数，且不超过1亿元",
}
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"must be 18 characters, got (\d+)"), "须为18位，现为{0}位"),
    (re.compile(r"must be 20 characters \(resident ID \+ category \+ grade\), got (\d+)"),
     "残疾证号须为20位（身份证号+类别+等级），现为{0}位"),
    (re.compile(r"19th character must be the category digit (\d)"), "残疾证号第19位须为类别{0}"),
    (re.compile(r"20th character must be the grade digit (\d)"), "残疾证号第20位须为等级{0}"),
    (re.compile(r"at most (\d+) characters"), "不超过{0}个字"),
    (re.compile(r"required, at most (\d+) characters"), "必填，不超过{0}个字"),
    (re.compile(r"must be one of the case's actions: .*"), "须为本个案的处置措施之一"),
    (re.compile(r"unknown group; one of .*"), "请从列表中选择重点人群"),
]


def explain_rule(language: str, description: str) -> str:
    """The rule in `language`, or "" when only the service's English is known (the caller
    shows that, marked lang="en")."""
    if language == "en":
        return description
    if description in EXACT:
        return EXACT[description]
    for pattern, text in PATTERNS:
        match = pattern.fullmatch(description)
        if match:
            return text.format(*match.groups())
    return ""
