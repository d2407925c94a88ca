"""Business alerts from the live state (issue 25): the rules are schemas.alerts; here the counting path's
feed, each province's one owner, the board every worker mirrors, its API and the webhook delivery."""

from .api import AlertsApi
from .board import AlertBoard
from .feed import command_record, feed_record, period_record, tick_record
from .owner import AlertOwner
from .webhooks import Deliverer, signature

__all__ = [
    "AlertBoard",
    "AlertOwner",
    "AlertsApi",
    "Deliverer",
    "command_record",
    "feed_record",
    "period_record",
    "signature",
    "tick_record",
]
