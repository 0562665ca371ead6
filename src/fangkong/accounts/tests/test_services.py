"""Account writes: a new account's password passes Django's validators."""

import pytest

from fangkong.accounts.models import User
from fangkong.accounts.services import user_create
from fangkong.common import errors


@pytest.mark.parametrize("weak", ["12345678", "short1", "password123", "wangxiaoming1"])
def test_user_create_refuses_a_weak_password(tree, weak):
    with pytest.raises(errors.Invalid) as refused:
        user_create(
            username="wangxiaoming",
            password=weak,
            role="grid_worker",
            jurisdiction=tree["grid_a"],
        )
    assert refused.value.code == "invalid" and refused.value.status == 400
    assert refused.value.as_dict()["fields"]["password"]
    assert not User.objects.filter(username="wangxiaoming").exists()


def test_user_create_accepts_a_good_password(tree):
    user = user_create(
        username="wangxiaoming",
        password="梅园-north-gate-42",
        role="grid_worker",
        jurisdiction=tree["grid_a"],
    )
    assert user.check_password("梅园-north-gate-42")
