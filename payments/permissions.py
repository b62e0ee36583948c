"""The permissions money leaving needs, the same in the API and the admin."""

# Refunds need the permission the admin's "Refund" order action checks.
REFUND_PERMISSION = "orders.change_order"
# A return's refund is a step of the return, and money leaving: both permissions.
RETURN_REFUND_PERMISSIONS = ("orders.change_return", REFUND_PERMISSION)
