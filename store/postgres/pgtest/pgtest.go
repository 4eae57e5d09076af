// Package pgtest gives tests a PostgreSQL schema of their own on the server
// named by ONECSE_TEST_PG (default postgres://postgres@127.0.0.1:5432/test).
//
// When the server cannot be reached the test fails: a store test that skips
// silently checks nothing. ONECSE_TEST_PG=off skips the PostgreSQL tests on
// purpose.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultDSN is used when ONECSE_TEST_PG is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN returns the test server's DSN; it skips the test when ONECSE_TEST_PG=off
// and fails it when the server does not answer.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ONECSE_TEST_PG")
	if dsn == "off" {
		t.Skip("ONECSE_TEST_PG=off: PostgreSQL tests skipped")
	}
	if dsn == "" {
		dsn = DefaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at %s does not answer (set ONECSE_TEST_PG to another DSN, or to off to skip): %v", dsn, err)
	}
	c.Close(ctx)
	return dsn
}

// Schema returns the name of a new schema, unique to this call, that is
// dropped (with everything in it) when t ends. The store creates it.
func Schema(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "onecse_test_" + hex.EncodeToString(b)
	t.Cleanup(func() { Drop(t, dsn, name) })
	return name
}

// WithSchema returns dsn with its search_path set to schema (the store keeps
// its tables there).
func WithSchema(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// Drop drops a schema and what it holds.
func Drop(t testing.TB, dsn, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("dropping schema %s: %v", schema, err)
		return
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("dropping schema %s: %v", schema, err)
	}
}
