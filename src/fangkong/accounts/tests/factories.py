"""Factories for accounts bound to a jurisdiction."""

import factory

from fangkong.accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = "grid_worker"
    jurisdiction = None
    password = factory.PostGenerationMethodCall("set_password", "pass-1234")

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()
