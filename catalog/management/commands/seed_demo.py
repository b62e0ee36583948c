from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User

DEMO_STAFF = ("admin@bookstore.local", "bookstore-admin")
DEMO_CUSTOMER = ("reader@bookstore.local", "bookstore-reader")


class Command(BaseCommand):
    help = "Load the demo data: a staff login, a customer login. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        staff_email, staff_password = DEMO_STAFF
        if not User.objects.filter(email=staff_email).exists():
            User.objects.create_superuser(staff_email, staff_password, first_name="Demo")
            self.stdout.write(f"Created staff login {staff_email}")
        customer_email, customer_password = DEMO_CUSTOMER
        if not User.objects.filter(email=customer_email).exists():
            User.objects.create_user(customer_email, customer_password, first_name="Reader")
            self.stdout.write(f"Created customer login {customer_email}")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
