"""Staff roles. The "Store managers" group is kept in step by data migrations that call
`store_managers_sync`, so a new model's permissions reach the role in the migration that adds it."""

STORE_MANAGERS_GROUP = "Store managers"

# app label -> model -> actions. Managers run the shop; they never manage users or their passwords.
STORE_MANAGER_PERMISSIONS = {
    "accounts": {"user": ["view"], "address": ["view"]},
    "catalog": {
        "book": ["view", "add", "change", "delete"],
        "author": ["view", "add", "change", "delete"],
        "genre": ["view", "add", "change", "delete"],
        # Moderation: hide and restore reviews (change); only their writers write them.
        "review": ["view", "change"],
    },
    "orders": {
        "order": ["view", "change"],
        "orderitem": ["view"],
        "orderevent": ["view"],
        "discountcode": ["view", "add", "change", "delete"],
        "shippingmethod": ["view", "add", "change", "delete"],
        "taxrate": ["view", "add", "change", "delete"],
        "return": ["view", "change"],
        "returnline": ["view"],
    },
    # Change: resending an email (the records themselves stay read-only in the admin).
    "core": {"outboxemail": ["view", "change"]},
    "payments": {
        "payment": ["view"],
        "refund": ["view"],
        "stripecustomer": ["view"],
        "dispute": ["view"],
    },
    # dj-stripe's copies of what Stripe said (read-only in the admin).
    "djstripe": {"event": ["view"], "webhookendpoint": ["view"]},
}


def store_managers_sync(apps):
    """Create the group and give it every listed permission that exists in this schema state.

    `apps` is a migration's historical app registry (or django.apps.apps).
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after the whole migrate run; create them now so that
    # the ones for models added by the calling migration exist already.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=STORE_MANAGERS_GROUP)
    wanted = {
        (app_label, f"{action}_{model}")
        for app_label, models in STORE_MANAGER_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    }
    permissions = [
        permission
        for permission in Permission.objects.select_related("content_type").filter(
            codename__in={codename for _, codename in wanted}
        )
        if (permission.content_type.app_label, permission.codename) in wanted
    ]
    group.permissions.set(permissions)
    return group
