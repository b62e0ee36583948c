"""The accounts app's domain events, sent by accounts.services inside the transaction."""

from django.dispatch import Signal

# A customer's account is being closed (by the customer or staff): carries `user` (personal data
# still in place) and `actor`. Receivers cancel what is pending and anonymise their own records;
# a failing receiver rolls the closing back.
account_closing = Signal()
