"""The starting groups of the permission map (athens_site/permissions.py and the README's
"Security" section): who may change the policy, read the audit, change the cache.

A snapshot, as migrations are: a group changed later in the admin is not touched again,
and a group that already exists keeps the permissions it has and gains these.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Security team": (
        "modules.view_policyrule", "modules.add_policyrule", "modules.change_policyrule",
        "modules.delete_policyrule", "modules.view_policyrulechange",
        "audit.view_downloadevent", "audit.view_fetchevent",
        "modules.view_module", "modules.view_moduleversion",
        "modules.fetch_moduleversion", "modules.evict_moduleversion",
    ),
    "Auditors": (
        "audit.view_downloadevent", "audit.view_fetchevent",
        "modules.view_policyrule", "modules.view_policyrulechange",
        "modules.view_module", "modules.view_moduleversion",
    ),
    "Release managers": (
        "modules.view_module", "modules.view_moduleversion", "modules.view_policyrule",
        "modules.fetch_moduleversion", "modules.evict_moduleversion",
    ),
}


def create_groups(apps, schema_editor):
    # Django creates permissions after the last migration runs (post_migrate); the
    # groups need them now, on a new database as much as on an old one.
    for label in ("auth", "contenttypes", "audit", "modules"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("modules", "0008_cache_permissions"),
        ("audit", "0008_client_claims"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
