from typing import Any

from .models import User
from .user_cache import forget_cached_user


def forget_changed_user(sender: type[User], instance: User, **kwargs: Any) -> None:
    forget_cached_user(instance)
