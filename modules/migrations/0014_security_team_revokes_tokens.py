"""The Security team may see and revoke anyone's tokens (the admin's *API tokens*, action
*Revoke*): a leaked CI token is theirs to stop. Like 0009, a snapshot: a group changed
later in the admin is not touched again."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ("view_apitoken", "change_apitoken")


def grant(apps, schema_editor):
    config = apps.get_app_config("modules")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Security team").first()
    if group is not None:
        group.permissions.add(*Permission.objects.filter(content_type__app_label="modules", codename__in=PERMISSIONS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Security team").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="modules", codename__in=PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [("modules", "0013_identity_notify_triggers")]

    operations = [migrations.RunPython(grant, revoke)]
