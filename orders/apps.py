from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from accounts.signals import account_closing

        from . import receivers

        account_closing.connect(receivers.account_closing, dispatch_uid="orders.account_closing")
