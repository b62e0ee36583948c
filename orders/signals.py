"""The orders app's domain events. Sent by orders.services inside the transaction that makes the
change, with `send()` so that a failing receiver (not enough stock) rolls the change back.

Every signal carries `order` and `lines`, a mapping of book id -> quantity.
"""

from django.dispatch import Signal

order_placed = Signal()  # a new pending order: its copies must be held
order_paid = Signal()  # the held copies are sold
order_cancelled = Signal()  # cancelled or expired while pending: the held copies are free again
# An owner or staff is about to cancel a pending order (sent with the order locked, before the
# change, without `lines`): a receiver refuses by raising ApplicationError (a payment in flight).
order_cancelling = Signal()
order_refunded = Signal()  # also carries `restock_lines`: copies that come back on hand
# A return's copies arrived fit to sell (sent with sender=Return): `restock_lines` go back on hand.
return_received = Signal()
