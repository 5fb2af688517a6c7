"""The assessments behind recent cards, kept by unguessable token for the cards' links
(the b12kg explanation page): the latest 256, for one hour."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

EXPLANATIONS_KEPT = 256
EXPLANATION_SECONDS = 3600


class Explanations:
    """The assessments behind recent cards, by unguessable token, bounded in number and age."""

    def __init__(self, capacity: int = EXPLANATIONS_KEPT, seconds: float = EXPLANATION_SECONDS):
        self.capacity, self.seconds = capacity, seconds
        self._items: OrderedDict[str, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, assessment) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._items[token] = (time.monotonic() + self.seconds, assessment)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return token

    def get(self, token: str):
        with self._lock:
            found = self._items.get(token)
            if found is None or found[0] < time.monotonic():
                self._items.pop(token, None)
                return None
            return found[1]
