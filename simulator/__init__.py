"""A seeded simulator of the Sedex and amfori change feeds: the demo's data source and the load generator.

``generate_feed`` builds the ordered messages (with the expected outcome of each), ``publish`` sends
them to Kafka; ``python -m simulator`` does both. feed.py's docstring maps the modules behind them.
"""

from simulator.feed import AMFORI_TOPIC, SEDEX_TOPIC, Feed, generate_feed
from simulator.malformed import REASON_CLASSES
from simulator.message import FeedMessage
from simulator.publish import publish
from simulator.world import World, build_world

__all__ = [
    "AMFORI_TOPIC",
    "REASON_CLASSES",
    "SEDEX_TOPIC",
    "Feed",
    "FeedMessage",
    "World",
    "build_world",
    "generate_feed",
    "publish",
]
