"""Notifications to DingTalk (signed), WeCom, Lark (signed) and generic JSON webhooks."""

from .formats import Notification, render
from .sender import RateLimiter, notify, subscribed

__all__ = ["Notification", "RateLimiter", "notify", "render", "subscribed"]
