"""Accounts of each kind, for tests: in one of the groups the migration creates
(modules/migrations/0009_groups.py), with the staff flag where the admin is used."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

PASSWORD = "x-long-password"


def member_of(group: str, username: str, *, staff: bool = True):
    """A user in `group` ("Security team", "Auditors", "Release managers")."""
    user = get_user_model().objects.create_user(username, f"{username}@example.test", PASSWORD, is_staff=staff)
    user.groups.add(Group.objects.get(name=group))
    return user


def basic_auth(login: str, password: str) -> str:
    """The Authorization header the go command sends from a netrc line."""
    import base64

    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()
