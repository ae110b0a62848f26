"""Named, ordered schema migrations. Each runs once, in its own transaction, and is recorded.

Migrations use plain SQL: sqlite-utils' table helpers commit on their own, which would split a
migration in two if it failed half way. One history serves both dialects: tables, indexes and
columns are written once (knowledge/database.py translates the types for PostgreSQL); triggers
and SQLite's full-text table are written per dialect, branching on `db.dialect`.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from knowledge.database import Database
from knowledge.models import format_time, utcnow


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[Database], None]


def _entries(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY,
            external_id TEXT UNIQUE,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            kind TEXT NOT NULL,
            answered_by TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            source_url TEXT,
            status TEXT NOT NULL,
            visibility TEXT NOT NULL DEFAULT 'public',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            verified_by TEXT,
            verified_at TEXT,
            usage_count INTEGER NOT NULL DEFAULT 0,
            helpful_count INTEGER NOT NULL DEFAULT 0,
            not_helpful_count INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX entries_status ON entries(status)")
    db.execute("CREATE INDEX entries_answered_by ON entries(answered_by)")
    # Rows imported without an id are matched to existing entries by their exact text.
    db.execute("CREATE INDEX entries_question ON entries(question)")
    # BM25 over the published entries' question, answer and tags, kept in step with
    # `entries` by triggers (written out rather than sqlite-utils' enable_fts so that only
    # published entries are in it, and so the migration stays one transaction). SQLite only:
    # on PostgreSQL the lexical index is tantivy's alone (index/lexical_index.py).
    if db.dialect == "sqlite":
        _entries_fts(db, ("question", "answer", "tags"))


def _entries_fts(db: Database, columns: tuple[str, ...]) -> None:
    """The FTS5 table over the published entries' `columns`, and the triggers keeping it."""
    names = ", ".join(columns)
    db.execute(
        f"CREATE VIRTUAL TABLE entries_fts USING fts5({names}, "
        "content=entries, content_rowid=id, tokenize='porter unicode61 remove_diacritics 2')"
    )
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    add = (
        f"INSERT INTO entries_fts(rowid, {names}) "
        f"SELECT new.id, {new} WHERE new.status = 'published';"
    )
    remove = (
        f"INSERT INTO entries_fts(entries_fts, rowid, {names}) "
        f"SELECT 'delete', old.id, {old} WHERE old.status = 'published';"
    )
    # One trigger per event, removal before addition (SQLite leaves the order of several
    # triggers on one event undefined, and FTS must delete the old text before the new).
    db.execute(f"CREATE TRIGGER entries_fts_ai AFTER INSERT ON entries BEGIN {add} END")
    db.execute(f"CREATE TRIGGER entries_fts_ad AFTER DELETE ON entries BEGIN {remove} END")
    db.execute(
        f"CREATE TRIGGER entries_fts_au AFTER UPDATE OF {names}, status "
        f"ON entries BEGIN {remove} {add} END"
    )


def _index_changes(db: Database) -> None:
    # A change log the vector index replays: every write that can change what is searchable
    # appends the entry id, in the same transaction as the write itself. An index saved at
    # sequence N is brought up to date by replaying the entries changed after N.
    db.execute(
        "CREATE TABLE index_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "entry_id INTEGER NOT NULL)"
    )
    if db.dialect == "sqlite":
        db.execute(
            "CREATE TRIGGER entries_changed_ai AFTER INSERT ON entries BEGIN "
            "INSERT INTO index_changes(entry_id) VALUES (new.id); END"
        )
        db.execute(
            "CREATE TRIGGER entries_changed_au AFTER UPDATE OF question, answer, status "
            "ON entries BEGIN INSERT INTO index_changes(entry_id) VALUES (new.id); END"
        )
        db.execute(
            "CREATE TRIGGER entries_changed_ad AFTER DELETE ON entries BEGIN "
            "INSERT INTO index_changes(entry_id) VALUES (old.id); END"
        )
    else:
        _pg_function(db, "log_entry_change", """
            IF TG_OP = 'DELETE' THEN
                INSERT INTO index_changes(entry_id) VALUES (OLD.id);
                RETURN OLD;
            END IF;
            INSERT INTO index_changes(entry_id) VALUES (NEW.id);
            RETURN NEW;""")
        for name, event in (("entries_changed_ai", "INSERT"),
                            ("entries_changed_au", "UPDATE OF question, answer, status"),
                            ("entries_changed_ad", "DELETE")):
            db.execute(f"CREATE TRIGGER {name} AFTER {event} ON entries FOR EACH ROW "
                       "EXECUTE FUNCTION log_entry_change()")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _pg_function(db: Database, name: str, body: str) -> None:
    """A PL/pgSQL trigger function (PostgreSQL's triggers call a function; SQLite's hold SQL)."""
    db.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
               f"{body} END $body$")


def _entry_vectors(db: Database) -> None:
    # The embedding of each entry's text, so that a rebuild of the vector index, routing and
    # duplicate detection never re-embed what has not changed. `text_hash` says which text
    # the vector was made from; `model` which model made it.
    _entry_vector_table(db, "entry_vectors")


def _entry_vector_table(db: Database, name: str) -> None:
    """A cache of one embedding per entry: which model made it, from which text (a hash)."""
    db.execute(
        f"CREATE TABLE {name} (entry_id INTEGER PRIMARY KEY REFERENCES entries(id) "
        "ON DELETE CASCADE, model TEXT NOT NULL, text_hash TEXT NOT NULL, vector BLOB NOT NULL)"
    )


def _questions(db: Database) -> None:
    # Every question asked, stored before anything else happens to it. (channel, message_ts)
    # is unique so a retried or doubly-delivered Slack event cannot create a second question.
    db.execute(
        """
        CREATE TABLE questions (
            id INTEGER PRIMARY KEY,
            asker TEXT NOT NULL,
            channel TEXT,
            channel_kind TEXT NOT NULL DEFAULT 'public',
            thread_ts TEXT,
            message_ts TEXT,
            source TEXT NOT NULL,
            text TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            first_reply_at TEXT,
            answered_at TEXT,
            solved_at TEXT,
            reply_channel TEXT,
            reply_ts TEXT,
            tier TEXT,
            best_entry_id INTEGER REFERENCES entries(id) ON DELETE SET NULL,
            best_score REAL,
            source_link TEXT,
            error TEXT,
            reply_claimed_at TEXT,
            UNIQUE (channel, message_ts)
        )
        """
    )
    db.execute("CREATE INDEX questions_thread ON questions(channel, thread_ts)")
    db.execute("CREATE INDEX questions_asker ON questions(asker, created_at)")
    db.execute("CREATE INDEX questions_created ON questions(created_at)")
    # What the bot showed for each question, best first.
    db.execute(
        """
        CREATE TABLE question_hits (
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            rank INTEGER NOT NULL,
            entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
            score REAL NOT NULL,
            tier TEXT NOT NULL,
            PRIMARY KEY (question_id, rank)
        )
        """
    )
    # One row per (question, entry, person, verdict): a double click cannot count twice.
    db.execute(
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
            entry_id INTEGER NOT NULL DEFAULT 0,
            user TEXT NOT NULL,
            verdict TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (question_id, entry_id, user, verdict)
        )
        """
    )
    # Slack deliveries already handled (event ids, view submissions), so retries and replays
    # are recognised across restarts.
    db.execute("CREATE TABLE handled_deliveries (key TEXT PRIMARY KEY, created_at TEXT NOT NULL)")


def _delivery_questions(db: Database) -> None:
    # Which question a delivery (a slash command, shortcut or modal submission, identified by its
    # trigger or view id) created, so a replay finds the same question instead of a new one.
    db.execute("ALTER TABLE handled_deliveries ADD COLUMN question_id INTEGER")


def _experts(db: Database) -> None:
    # Topics people declare (or an admin declares for them), Slack user groups mapped to topics
    # with their members as last seen, and each person's routing preferences and state.
    db.execute(
        "CREATE TABLE expert_topics (user TEXT NOT NULL, topic TEXT NOT NULL, "
        "created_at TEXT NOT NULL, PRIMARY KEY (user, topic))"
    )
    db.execute(
        "CREATE TABLE group_topics (group_id TEXT NOT NULL, handle TEXT, topic TEXT NOT NULL, "
        "PRIMARY KEY (group_id, topic))"
    )
    db.execute(
        "CREATE TABLE group_members (group_id TEXT NOT NULL, user TEXT NOT NULL, "
        "PRIMARY KEY (group_id, user))"
    )
    db.execute(
        "CREATE TABLE expert_prefs (user TEXT PRIMARY KEY, away_until TEXT, daily_cap INTEGER, "
        "tz TEXT, tz_offset INTEGER, deactivated INTEGER NOT NULL DEFAULT 0, "
        "updated_at TEXT NOT NULL)"
    )


def _routes(db: Database) -> None:
    # One row per (question, expert) asked: the UNIQUE pair is what makes routing idempotent.
    db.execute(
        """
        CREATE TABLE routes (
            id INTEGER PRIMARY KEY,
            question_id INTEGER NOT NULL REFERENCES questions(id),
            expert TEXT NOT NULL,
            round INTEGER NOT NULL,
            status TEXT NOT NULL,
            score REAL NOT NULL DEFAULT 0,
            reasons TEXT NOT NULL DEFAULT '[]',
            suggested_by TEXT,
            asked_at TEXT NOT NULL,
            responded_at TEXT,
            snoozed_until TEXT,
            dm_channel TEXT,
            dm_ts TEXT,
            UNIQUE (question_id, expert)
        )
        """
    )
    db.execute("CREATE INDEX routes_expert ON routes(expert, status)")
    # The escalation ladder of each routed question: its round, state and next deadline.
    db.execute(
        """
        CREATE TABLE ladders (
            question_id INTEGER PRIMARY KEY REFERENCES questions(id),
            round INTEGER NOT NULL DEFAULT 1,
            state TEXT NOT NULL,
            sla_minutes REAL NOT NULL,
            next_at TEXT,
            topic TEXT,
            fallback_channel TEXT,
            fallback_ts TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX ladders_due ON ladders(state, next_at)")
    # The human answer a routed question got, and the entry it was captured into.
    for column in ("expert_answer TEXT", "expert_answered_by TEXT", "expert_answered_at TEXT",
                   "expert_answer_ts TEXT", "captured_entry_id INTEGER"):
        db.execute(f"ALTER TABLE questions ADD COLUMN {column}")


def _audit(db: Database) -> None:
    # Every change to an entry: who, when, what, and the entry before and after (JSON).
    db.execute(
        """
        CREATE TABLE entry_audit (
            id INTEGER PRIMARY KEY,
            entry_id INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            note TEXT,
            before TEXT,
            after TEXT,
            at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX entry_audit_entry ON entry_audit(entry_id, id)")
    # Merged entries: the one folded in points at the one kept; the kept one keeps its links.
    db.execute("ALTER TABLE entries ADD COLUMN merged_into INTEGER")
    db.execute("ALTER TABLE entries ADD COLUMN extra_links TEXT NOT NULL DEFAULT '[]'")
    # Resumable imports of Slack channel history: the last thread imported per channel.
    db.execute(
        "CREATE TABLE slack_imports (channel TEXT PRIMARY KEY, cursor TEXT, oldest TEXT, "
        "threads INTEGER NOT NULL DEFAULT 0, candidates INTEGER NOT NULL DEFAULT 0, "
        "done INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL)"
    )
    # Nudges sent to owners of stale entries (so nobody is nudged twice about one entry a week).
    db.execute(
        "CREATE TABLE nudges (entry_id INTEGER NOT NULL, user TEXT NOT NULL, at TEXT NOT NULL, "
        "PRIMARY KEY (entry_id, user, at))"
    )


def _question_vectors(db: Database) -> None:
    # The embedding of each question's text (capped), made once in the background so that
    # knowledge gaps are grouped from stored vectors and no request re-embeds anything.
    # `text_hash` says which (capped) text it was made from (an edited question is embedded
    # again); `model` which model made it (another model's vectors are ignored).
    db.execute(
        """
        CREATE TABLE question_vectors (
            question_id INTEGER PRIMARY KEY REFERENCES questions(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            vector BLOB NOT NULL
        )
        """
    )
    # The weekly figures on the admin Home read these columns of every recent question. They
    # sit after `text` in the row, so without this covering index SQLite walks the overflow
    # pages of every long question to reach them (the week's figures for 300 questions of
    # 40,000 characters: 27 ms without it, 4 ms with it).
    db.execute(
        "CREATE INDEX questions_outcome ON questions(created_at, status, tier, "
        "expert_answered_by, answered_at, solved_at, expert_answered_at)"
    )


def _pending_replies(db: Database) -> None:
    # Slack deliveries that failed for a passing reason (rate limit, 5xx, dropped connection),
    # retried with backoff by the scheduler until they go out or grow too old: a row per piece
    # of work (`reply:<question id>`, `home:<user id>`). And a slash command's response_url, so
    # an answer recovered after a crash can still be posted privately where /ask was typed.
    db.execute(
        """
        CREATE TABLE pending_deliveries (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            question_id INTEGER REFERENCES questions(id) ON DELETE CASCADE,
            user TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_error TEXT
        )
        """
    )
    db.execute("CREATE INDEX pending_deliveries_due ON pending_deliveries(kind, next_attempt_at)")
    db.execute("ALTER TABLE questions ADD COLUMN response_url TEXT")
    # Recovery looks for questions still waiting for their first reply; keep that scan small.
    db.execute("CREATE INDEX questions_waiting ON questions(created_at) WHERE status = 'received'")


def _hit_confidence(db: Database) -> None:
    # How sure the search was of each entry it showed (0..1), so a card rebuilt after a click
    # says the same as the card first posted. NULL for hits shown before this was kept.
    db.execute("ALTER TABLE question_hits ADD COLUMN confidence REAL")


def _phrasings(db: Database) -> None:
    # Other wordings of an entry's question, learned from people: the asker's words when they
    # said an entry solved their question (polarity +1), or that it did not help (-1); the
    # original question an expert's routed answer was captured from; a merged entry's question.
    # `norm` is the wording folded for matching, so the same words from another person add a
    # vote instead of a row. A removed phrasing keeps its row (who removed it, when) but
    # stops counting. `vector` caches its embedding (`model` says which model made it).
    db.execute(
        """
        CREATE TABLE phrasings (
            id INTEGER PRIMARY KEY,
            entry_id INTEGER NOT NULL REFERENCES entries(id),
            text TEXT NOT NULL,
            norm TEXT NOT NULL,
            polarity INTEGER NOT NULL CHECK (polarity IN (1, -1)),
            source TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            removed_by TEXT,
            removed_at TEXT,
            model TEXT,
            vector BLOB,
            UNIQUE (entry_id, norm, polarity)
        )
        """
    )
    db.execute("CREATE INDEX phrasings_entry ON phrasings(entry_id)")
    # Who confirmed a phrasing: one row per person, so one person's clicks count once.
    db.execute(
        "CREATE TABLE phrasing_votes (phrasing_id INTEGER NOT NULL REFERENCES phrasings(id), "
        "user TEXT NOT NULL, question_id INTEGER, created_at TEXT NOT NULL, "
        "PRIMARY KEY (phrasing_id, user))"
    )
    # Any change to a phrasing (or its votes) changes how its entry is found: log the entry,
    # so both derived indexes re-read it (and its phrasings) like any other edit.
    # BM25: an entry's active positive phrasings join its searchable text as a fourth column,
    # so they share the entries' word statistics (a separate table of a few phrasings would
    # give every word the same useless weight). `entries.phrasings` holds them, one a line,
    # kept by triggers; entries_fts is made anew with the column.
    db.execute("ALTER TABLE entries ADD COLUMN phrasings TEXT NOT NULL DEFAULT ''")
    if db.dialect == "sqlite":
        _phrasing_triggers_sqlite(db)
    else:
        _phrasing_triggers_postgres(db)


def _phrasing_triggers_sqlite(db: Database) -> None:
    db.execute(
        "CREATE TRIGGER phrasings_changed_ai AFTER INSERT ON phrasings BEGIN "
        "INSERT INTO index_changes(entry_id) VALUES (new.entry_id); END"
    )
    db.execute(
        "CREATE TRIGGER phrasings_changed_au AFTER UPDATE OF entry_id, text, removed_at "
        "ON phrasings BEGIN INSERT INTO index_changes(entry_id) VALUES (old.entry_id); "
        "INSERT INTO index_changes(entry_id) SELECT new.entry_id "
        "WHERE new.entry_id != old.entry_id; END"
    )
    db.execute(
        "CREATE TRIGGER phrasing_votes_changed_ai AFTER INSERT ON phrasing_votes BEGIN "
        "INSERT INTO index_changes(entry_id) "
        "SELECT entry_id FROM phrasings WHERE id = new.phrasing_id; END"
    )
    for trigger in ("entries_fts_ai", "entries_fts_ad", "entries_fts_au"):
        db.execute(f"DROP TRIGGER {trigger}")
    db.execute("DROP TABLE entries_fts")
    _entries_fts(db, ("question", "answer", "tags", "phrasings"))
    db.execute(
        "INSERT INTO entries_fts(rowid, question, answer, tags, phrasings) "
        "SELECT id, question, answer, tags, phrasings FROM entries WHERE status = 'published'"
    )
    refresh = (
        "UPDATE entries SET phrasings = coalesce((SELECT group_concat(text, char(10)) FROM "
        "(SELECT text FROM phrasings WHERE entry_id = {entry} AND polarity = 1 AND "
        "removed_at IS NULL ORDER BY id)), '') WHERE id = {entry};"
    )
    db.execute(
        "CREATE TRIGGER phrasings_text_ai AFTER INSERT ON phrasings BEGIN "
        f"{refresh.format(entry='new.entry_id')} END"
    )
    db.execute(
        "CREATE TRIGGER phrasings_text_au AFTER UPDATE OF entry_id, text, removed_at, polarity "
        f"ON phrasings BEGIN {refresh.format(entry='old.entry_id')} "
        f"{refresh.format(entry='new.entry_id')} END"
    )


def _phrasing_triggers_postgres(db: Database) -> None:
    refresh = (
        "UPDATE entries SET phrasings = coalesce((SELECT string_agg(text, E'\\n' ORDER BY id) "
        "FROM phrasings WHERE entry_id = {entry} AND polarity = 1 AND removed_at IS NULL), '') "
        "WHERE id = {entry};"
    )
    _pg_function(db, "log_phrasing_change", f"""
        IF TG_OP = 'INSERT' THEN
            INSERT INTO index_changes(entry_id) VALUES (NEW.entry_id);
            {refresh.format(entry='NEW.entry_id')}
            RETURN NEW;
        END IF;
        IF NEW.entry_id IS DISTINCT FROM OLD.entry_id OR NEW.text IS DISTINCT FROM OLD.text
           OR NEW.removed_at IS DISTINCT FROM OLD.removed_at THEN
            INSERT INTO index_changes(entry_id) VALUES (OLD.entry_id);
            IF NEW.entry_id <> OLD.entry_id THEN
                INSERT INTO index_changes(entry_id) VALUES (NEW.entry_id);
            END IF;
        END IF;
        {refresh.format(entry='OLD.entry_id')}
        {refresh.format(entry='NEW.entry_id')}
        RETURN NEW;""")
    db.execute("CREATE TRIGGER phrasings_changed AFTER INSERT OR UPDATE OF entry_id, text, "
               "removed_at, polarity ON phrasings FOR EACH ROW "
               "EXECUTE FUNCTION log_phrasing_change()")
    _pg_function(db, "log_phrasing_vote", """
        INSERT INTO index_changes(entry_id)
            SELECT entry_id FROM phrasings WHERE id = NEW.phrasing_id;
        RETURN NEW;""")
    db.execute("CREATE TRIGGER phrasing_votes_changed_ai AFTER INSERT ON phrasing_votes "
               "FOR EACH ROW EXECUTE FUNCTION log_phrasing_vote()")


def _entry_question_vectors(db: Database) -> None:
    # Each entry's question embedded alone, beside `entry_vectors` (question and answer, what the
    # index searches): search reads it for the few hits it returns, as evidence for their
    # confidence. Same keys as `entry_vectors`.
    _entry_vector_table(db, "entry_question_vectors")


def _route_outcomes(db: Database) -> None:
    # How often each route was snoozed: a woken snooze reads "asked" again, so without this
    # count a person who snoozes every question looks like one who was never asked. Counted by
    # a trigger, so every path that snoozes (the button, the App Home, a test) is counted.
    db.execute("ALTER TABLE routes ADD COLUMN snoozes INTEGER NOT NULL DEFAULT 0")
    if db.dialect == "sqlite":
        db.execute(
            """
            CREATE TRIGGER routes_snoozed AFTER UPDATE OF status ON routes
            WHEN new.status = 'snoozed' AND old.status != 'snoozed'
            BEGIN
                UPDATE routes SET snoozes = snoozes + 1 WHERE id = new.id;
            END
            """
        )
        return
    _pg_function(db, "count_snooze", """
        NEW.snoozes := NEW.snoozes + 1;
        RETURN NEW;""")
    # (Not when the statement sets the count itself, as `switchboard migrate` copying does.)
    db.execute("CREATE TRIGGER routes_snoozed BEFORE UPDATE OF status ON routes FOR EACH ROW "
               "WHEN (NEW.status = 'snoozed' AND OLD.status <> 'snoozed' "
               "AND NEW.snoozes = OLD.snoozes) "
               "EXECUTE FUNCTION count_snooze()")


def _change_followers(db: Database) -> None:
    # Every derived index that follows the change log (one pair per replica), with the change
    # it has saved: the log is pruned only up to the slowest follower seen lately, so a replica
    # that saved its index at change N can still catch up from N after another one pruned.
    db.execute(
        "CREATE TABLE change_followers (follower TEXT PRIMARY KEY, cursor INTEGER NOT NULL, "
        "seen_at TEXT NOT NULL)"
    )


MIGRATIONS: list[Migration] = [
    Migration("0001_entries", _entries),
    Migration("0002_index_changes", _index_changes),
    Migration("0003_entry_vectors", _entry_vectors),
    Migration("0004_questions", _questions),
    Migration("0005_delivery_questions", _delivery_questions),
    Migration("0006_experts", _experts),
    Migration("0007_routes", _routes),
    Migration("0008_audit", _audit),
    Migration("0009_question_vectors", _question_vectors),
    Migration("0010_pending_replies", _pending_replies),
    Migration("0011_hit_confidence", _hit_confidence),
    Migration("0012_phrasings", _phrasings),
    Migration("0013_route_outcomes", _route_outcomes),
    Migration("0015_entry_question_vectors", _entry_question_vectors),
    Migration("0016_change_followers", _change_followers),
]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply every migration not yet applied; return the names applied now.

    Each runs in a write transaction, and whether it ran is read again inside it, so replicas
    starting together on one PostgreSQL apply each migration once.
    """
    db.begin()
    try:
        _create_ledger(db)
    except BaseException:
        db.rollback()
        raise
    db.commit()
    done = {row["name"] for row in db.query("SELECT name FROM _migrations")}
    applied = []
    for migration in migrations if migrations is not None else MIGRATIONS:
        if migration.name in done:
            continue
        db.begin()
        try:
            if not db.query("SELECT name FROM _migrations WHERE name = ?", [migration.name]):
                migration.apply(db)
                db.execute("INSERT INTO _migrations(name, applied_at) VALUES (?, ?)",
                           [migration.name, format_time(utcnow())])
                applied.append(migration.name)
        except BaseException:
            db.rollback()
            raise
        db.commit()
    return applied


def _create_ledger(db: Database) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, "
               "applied_at TEXT NOT NULL)")

