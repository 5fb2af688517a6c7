"""Durable record of the cards the CDS Hooks service issued and the feedback on them
(CDS Hooks 2.0 feedback: accepted / overridden, with the override reason), in SQLite.

Bounded: a comment of at most 1,000 characters and an override reason of at most 2 KiB,
five feedback items per card, and the newest 100,000 cards and feedback items kept.
Read back newest first, a page at a time."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

from ...errors import HttpError

OUTCOMES = ("accepted", "overridden")
MAX_FEEDBACK_ITEMS = 100
"""Most feedback items in one request."""
MAX_COMMENT_CHARS = 1000
MAX_REASON_BYTES = 2048
MAX_FEEDBACK_PER_CARD = 5
KEEP_ROWS = 100_000
"""Cards, and feedback items, kept (the oldest are dropped past it)."""
PAGE = 100
MAX_PAGE = 500
_PRUNE = {"card": "DELETE FROM card WHERE rowid <= (SELECT max(rowid) FROM card) - ?",
          "feedback": "DELETE FROM feedback WHERE id <= (SELECT max(id) FROM feedback) - ?"}


def default_path() -> Path:
    """$XDG_STATE_HOME/b12kg/cds-feedback.sqlite3 (default ~/.local/state/...)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "b12kg" / "cds-feedback.sqlite3"


class FeedbackError(HttpError):
    """A feedback request that cannot be stored (HTTP 400), or names an unknown card (404)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(status, message)


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


class FeedbackStore:
    """Cards issued and feedback received, in one SQLite file (thread-safe, one connection)."""

    def __init__(self, path: Path | str):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL with synchronous=NORMAL: every commit survives a crash of the service; only a power
            # loss may lose the latest commits (FULL would cost an fsync, ~10 ms, per response).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("""CREATE TABLE IF NOT EXISTS card (
                uuid TEXT PRIMARY KEY, service TEXT NOT NULL, hook_instance TEXT, patient TEXT, code TEXT,
                summary TEXT, suggestions TEXT NOT NULL, issued TEXT NOT NULL)""")
            self._db.execute("""CREATE TABLE IF NOT EXISTS feedback (
                id INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT NOT NULL, card TEXT NOT NULL REFERENCES card(uuid),
                outcome TEXT NOT NULL, accepted_suggestions TEXT NOT NULL, override_reason TEXT, user_comment TEXT,
                outcome_timestamp TEXT NOT NULL, received TEXT NOT NULL)""")
            for table, column in (("card", "conclusions"), ("feedback", "uuid")):  # added for the cohort store (issue 24)
                if column not in {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
            self._db.execute("CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card)")
            self._db.execute("CREATE INDEX IF NOT EXISTS feedback_service ON feedback (service, id)")

    def close(self) -> None:
        self._db.close()

    def issued(self, service: str, hook_instance: str, patient: str, cards: list[dict]) -> None:
        """Record the cards of one response (so feedback can be checked against them)."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        rows = [(c["uuid"], service, hook_instance, patient, c.get("_code"), c["summary"],
                 json.dumps([s["uuid"] for s in c.get("suggestions", []) if "uuid" in s]), now,
                 json.dumps(c.get("_conclusions", []))) for c in cards]
        with self._lock:
            self._db.executemany("""INSERT OR REPLACE INTO card (uuid, service, hook_instance, patient, code, summary, suggestions,
                                    issued, conclusions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
            self._db.execute(_PRUNE["card"], (KEEP_ROWS,))

    def record(self, service: str, body) -> int:
        """Validate and store one feedback request body; returns how many items were stored."""
        if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
            raise FeedbackError("expected {\"feedback\": [ ... ]} with at least one item")
        items = body["feedback"]
        if len(items) > MAX_FEEDBACK_ITEMS:
            raise FeedbackError(f"more than {MAX_FEEDBACK_ITEMS} feedback items in one request")
        rows = []
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for index, item in enumerate(items):
            where = f"feedback[{index}]"
            if not isinstance(item, dict):
                raise FeedbackError(f"{where}: expected an object")
            card, outcome = item.get("card"), item.get("outcome")
            if not _is_uuid(card):
                raise FeedbackError(f"{where}.card: expected the uuid of a card")
            if outcome not in OUTCOMES:
                raise FeedbackError(f"{where}.outcome: expected one of {', '.join(OUTCOMES)}")
            timestamp = item.get("outcomeTimestamp")
            if not isinstance(timestamp, str):
                raise FeedbackError(f"{where}.outcomeTimestamp: required (an ISO 8601 instant)")
            try:
                datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
            except ValueError:
                raise FeedbackError(f"{where}.outcomeTimestamp: {timestamp[:40]!r} is not an ISO 8601 instant") from None
            accepted = item.get("acceptedSuggestions", [])
            if not isinstance(accepted, list) or not all(isinstance(a, dict) and _is_uuid(a.get("id")) for a in accepted):
                raise FeedbackError(f"{where}.acceptedSuggestions: expected a list of {{\"id\": suggestion uuid}}")
            if outcome == "overridden" and accepted:
                raise FeedbackError(f"{where}: an overridden card has no accepted suggestions")
            if len(timestamp) > 40:
                raise FeedbackError(f"{where}.outcomeTimestamp: longer than an ISO 8601 instant")
            reason = item.get("overrideReason")
            if reason is not None:
                if outcome != "overridden":
                    raise FeedbackError(f"{where}.overrideReason: only for outcome overridden")
                if not isinstance(reason, dict) or not isinstance(reason.get("reason", {}), dict) \
                        or not isinstance(reason.get("userComment", ""), str):
                    raise FeedbackError(f"{where}.overrideReason: expected {{\"reason\": Coding, \"userComment\": text}}")
                if len(reason.get("userComment", "")) > MAX_COMMENT_CHARS:
                    raise FeedbackError(f"{where}.overrideReason.userComment: longer than {MAX_COMMENT_CHARS} characters")
                if len(json.dumps(reason.get("reason", {}))) > MAX_REASON_BYTES:
                    raise FeedbackError(f"{where}.overrideReason.reason: larger than {MAX_REASON_BYTES} bytes (a Coding)")
            with self._lock:
                known = self._db.execute("SELECT service, suggestions FROM card WHERE uuid = ?", (card,)).fetchone()
                given = self._db.execute("SELECT count(*) FROM feedback WHERE card = ?", (card,)).fetchone()[0]
            if known is None or known[0] != service:
                raise FeedbackError(f"{where}.card: no card {card} was issued by the service {service}", status=404)
            if given + sum(1 for r in rows if r[1] == card) >= MAX_FEEDBACK_PER_CARD:
                raise FeedbackError(f"{where}.card: card {card} already has {MAX_FEEDBACK_PER_CARD} feedback items", status=409)
            offered = set(json.loads(known[1]))
            unknown = [a["id"] for a in accepted if a["id"] not in offered]
            if unknown:
                raise FeedbackError(f"{where}.acceptedSuggestions: {unknown[0]} is not a suggestion of card {card}")
            rows.append((service, card, outcome, json.dumps([a["id"] for a in accepted]),
                         json.dumps(reason.get("reason")) if reason and reason.get("reason") else None,
                         reason.get("userComment") if reason else None, timestamp, now, str(uuid.uuid4())))
        with self._lock:
            self._db.executemany("""INSERT INTO feedback (service, card, outcome, accepted_suggestions, override_reason,
                                    user_comment, outcome_timestamp, received, uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
            self._db.execute(_PRUNE["feedback"], (KEEP_ROWS,))
        return len(rows)

    def for_graph(self) -> list[dict]:
        """Every feedback item with its card's service, patient and conclusions: what the cohort store keeps (cohort/feedback.py)."""
        with self._lock:
            rows = self._db.execute("""SELECT f.uuid, f.id, f.service, f.card, f.outcome, f.override_reason, f.user_comment,
                                       f.outcome_timestamp, c.patient, c.code, c.conclusions FROM feedback f
                                       JOIN card c ON c.uuid = f.card ORDER BY f.id""").fetchall()
        names = ("uuid", "id", "service", "card", "outcome", "reason", "comment", "timestamp", "patient", "code", "conclusions")
        found = []
        for row in rows:
            item = dict(zip(names, row, strict=True))
            item["reason"] = json.loads(item["reason"]) if item["reason"] else None
            item["conclusions"] = json.loads(item["conclusions"]) if item["conclusions"] else []
            found.append(item)
        return found

    def read(self, service: str, limit: int = PAGE, before: int | None = None) -> list[dict]:
        """The feedback stored for one service, newest first, in the shape it was sent (with its
        `id`); `before`: only items older than that id (the next page)."""
        limit = max(1, min(limit, MAX_PAGE))
        with self._lock:
            rows = self._db.execute("""SELECT f.id, f.card, f.outcome, f.accepted_suggestions, f.override_reason, f.user_comment,
                                       f.outcome_timestamp, f.received, c.code, c.patient FROM feedback f JOIN card c ON c.uuid = f.card
                                       WHERE f.service = ? AND f.id < ? ORDER BY f.id DESC LIMIT ?""",
                                    (service, before if before is not None else 2**62, limit)).fetchall()
        found = []
        for rid, card, outcome, accepted, reason, comment, timestamp, received, code, patient in rows:
            item = {"id": rid, "card": card, "outcome": outcome, "outcomeTimestamp": timestamp, "received": received,
                    "cardCode": code, "patient": patient}
            if json.loads(accepted):
                item["acceptedSuggestions"] = [{"id": a} for a in json.loads(accepted)]
            if reason or comment:
                item["overrideReason"] = {k: v for k, v in (("reason", json.loads(reason) if reason else None),
                                                            ("userComment", comment)) if v is not None}
            found.append(item)
        return found
