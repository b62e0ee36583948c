from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import receivers

        # Django's own model signals, as Django keeps its caches of sites and content types: a
        # cached copy of a user (accounts.user_cache) must not outlive a change to the user.
        User = self.get_model("User")
        post_save.connect(
            receivers.forget_changed_user, sender=User, dispatch_uid="accounts.user_saved"
        )
        post_delete.connect(
            receivers.forget_changed_user, sender=User, dispatch_uid="accounts.user_deleted"
        )
