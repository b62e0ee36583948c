from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from core.outbox import link_builder_register

        from . import emails, receivers, selectors, serializers
        from .exports import ExportSection, export_section_register

        link_builder_register("password_reset", emails.password_reset_link_at_send)
        link_builder_register("verify_email", emails.email_verification_link_at_send)

        # Django's own model signals, as Django keeps its caches of sites and content types: a
        # cached copy of a user (accounts.user_cache) must not outlive a change to the user.
        User = self.get_model("User")
        post_save.connect(
            receivers.forget_changed_user, sender=User, dispatch_uid="accounts.user_saved"
        )
        post_delete.connect(
            receivers.forget_changed_user, sender=User, dispatch_uid="accounts.user_deleted"
        )
        for section in (
            ExportSection(
                "profile", selectors.user_profile_export, serializers.ExportProfileSerializer
            ),
            ExportSection(
                "addresses",
                selectors.user_addresses_export,
                lambda: serializers.ExportAddressSerializer(many=True),
            ),
            ExportSection(
                "emails",
                selectors.user_emails_export,
                lambda: serializers.ExportEmailSerializer(many=True),
            ),
        ):
            export_section_register(section)
