package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrations are applied in order, each once, recorded in schema_version.
// Never change one that was released: append a new one.
//
// Text columns compared by range (path, marks' key) use the "C" collation, so
// that they sort byte by byte, as Go strings do: Walk returns paths in that
// order, and the descendants of p are exactly the paths between p+"/" and
// p+"0" ('0' follows '/').
var migrations = []string{
	// 1: resources, outbox, marks.
	`
CREATE TABLE resources (
	-- From a sequence: a seq is never handed out again, not even after the
	-- newest row was deleted (see resource.Resource.Seq).
	seq  bigserial PRIMARY KEY,
	ri   text NOT NULL UNIQUE,
	pi   text NOT NULL,
	ty   integer NOT NULL,
	path text COLLATE "C" NOT NULL UNIQUE,
	et   timestamptz,
	lbl  text[],
	data bytea NOT NULL
);
-- (pi, ty, seq) serves the children of one type in creation order, so that
-- la/ol cost the same with 10 or 10,000,000 instances; (pi, seq) children of
-- any type. The unique index on path serves Walk and DeleteTree (a range of
-- paths is a subtree), and discovery below a resource.
CREATE INDEX resources_children ON resources (pi, ty, seq);
CREATE INDEX resources_children_seq ON resources (pi, seq);
-- Expiry looks at the earliest expiration times only.
CREATE INDEX resources_expiry ON resources (et) WHERE et IS NOT NULL;
-- The subscriptions below a deleted resource, without scanning the subtree.
CREATE INDEX resources_subs ON resources (path) WHERE ty = 23;
-- Discovery by label (lbl=...): a GIN index on the labels.
CREATE INDEX resources_lbl ON resources USING gin (lbl) WHERE lbl IS NOT NULL;

-- The notification outbox. Its Seqs come from outbox_seq, drawn only while
-- holding the outbox's advisory transaction lock (see AppendOutbox).
CREATE TABLE outbox (
	seq  bigserial PRIMARY KEY,
	data bytea NOT NULL
);
CREATE TABLE marks (
	key text COLLATE "C" PRIMARY KEY,
	v   bigint NOT NULL
);
`,
	// 2: onecse_lock locks the row of a resource that the writer read from its
	// cache and checks that it still holds what was read; otherwise (changed
	// or deleted by another node) it fails with a serialisation failure, and
	// the writer runs the group again reading the database.
	`
CREATE FUNCTION onecse_lock(r text, d bytea) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM resources WHERE ri = r AND data = d FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'onecse: resource % changed since it was read', r USING ERRCODE = '40001';
	END IF;
END
$$;
`,
}

// migrate brings the schema up to date. Several nodes may start at once: the
// first takes a session advisory lock, the others wait for it and then find
// nothing left to do.
func migrate(ctx context.Context, conn *pgx.Conn, schema string) error {
	lock := lockKey("migrate", schema)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lock)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)"); err != nil {
		return err
	}
	var v int
	err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("postgres: the database schema is at version %d, newer than this onecse knows (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, migrations[i]); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("postgres: migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", i+1); err != nil {
			tx.Rollback(ctx)
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}
