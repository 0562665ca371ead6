"""Masking of personal data shown to roles that may not see it in full."""


def mask_id_number(value: str) -> str:
    if not value:
        return ""
    if len(value) <= 6:
        return value[0] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
