from .user_cache import forget_cached_user


def forget_changed_user(sender, instance, **kwargs):
    forget_cached_user(instance)
