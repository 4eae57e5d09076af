// Package postgres is the store for several onecse nodes that serve one CSE
// from one shared PostgreSQL database (github.com/jackc/pgx/v5).
//
// Reads (View) run on a connection pool, each statement on its own, so each
// sees what was committed when it ran. Writes (Update) go through one writer
// per process that commits the transactions waiting together in one
// PostgreSQL transaction (group commit), so that a hot container that every
// new contentInstance updates is written once per commit, and one WAL flush
// carries many callers. A caller that fails after writing makes the group
// start again without it (its function is run again: see store.Store).
//
// Between nodes (several processes on one database) serialisability comes
// from row locks: inside an Update every resource a Get or GetByPath returns
// is locked, so two nodes changing the same resource (a container's
// counters) take turns, and a deadlock between two groups is resolved by
// PostgreSQL and the group run again. A resource the read cache holds is
// read from it and locked by a statement queued ahead of the commit, which
// also checks that the row still holds what was read (onecse_lock): when
// another node changed it meanwhile, the group runs again reading the
// database (SELECT ... FOR UPDATE).
//
// Inside a group, Creates do not wait for their INSERT: the inserts are sent
// together before the group's next statement or with its COMMIT (see
// attempt), so a group of contentInstances costs one round trip.
//
// The outbox's Seqs are drawn from a sequence under a transaction-scoped
// advisory lock that is held until commit: appenders therefore commit in Seq
// order, and a reader that has seen Seq n can never find a new entry below n
// later (PostgreSQL releases the lock only after the commit is visible).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/envelope"
)

const cols = "seq, ri, pi, ty, path, et, data"

// Options configure the store.
type Options struct {
	// DSN is the PostgreSQL connection string (URL or key=value form).
	DSN string
	// Schema holds the tables (created if missing; default: the DSN's
	// search_path parameter, else "public"). Several CSEs, or test runs, can
	// share a database with a schema each.
	Schema string
	// MaxBatch bounds how many Updates one commit carries (default 256).
	MaxBatch int
	// PoolSize is the number of connections for reads (default: the larger
	// of 8 and four per CPU).
	PoolSize int
	// Log receives the writer's connection problems (default: discarded).
	Log *slog.Logger
	// CacheSize is how many decoded resources reads keep in memory (default
	// 100,000; negative: no cache, every read asks the database). See
	// cache.go for how the caches of several nodes are kept coherent.
	CacheSize int
}

// Store is the PostgreSQL store.
type Store struct {
	pool       *pgxpool.Pool
	connCfg    *pgx.ConnConfig
	schema     string
	outboxLock int64
	log        *slog.Logger

	ops      chan *op
	closing  chan struct{}
	done     chan struct{}
	maxBatch int
	// mu orders Close after every Update that is queueing its op (as in
	// store/sqlite): once closed is set no op can arrive after the writer's
	// final drain.
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closeErr  error

	cache     *cache // nil: off
	node      string // this process's ID in cache invalidations
	invalStop context.CancelFunc
	invalDone chan struct{}

	wconn   *pgx.Conn // owned by the writer
	commits atomic.Int64
	txs     atomic.Int64
	retries atomic.Int64
}

type op struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
}

// lockKey derives an advisory lock key from a purpose and the schema, so that
// stores in different schemas of one database do not contend.
func lockKey(what, schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("onecse/" + what + "/" + schema))
	return int64(h.Sum64())
}

// Open connects, brings the schema up to date and starts the writer.
func Open(ctx context.Context, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	schema := o.Schema
	if schema == "" {
		schema = cfg.ConnConfig.RuntimeParams["search_path"]
	}
	if schema == "" || strings.Contains(schema, ",") {
		schema = "public"
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	// Reads are short and latency-bound (a round trip each): more
	// connections than CPUs keep requests from queueing for one.
	cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	if o.PoolSize > 0 {
		cfg.MaxConns = int32(o.PoolSize)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{connCfg: cfg.ConnConfig.Copy(), schema: schema, outboxLock: lockKey("outbox", schema), log: log,
		ops: make(chan *op, 1024), closing: make(chan struct{}), done: make(chan struct{}), maxBatch: o.MaxBatch}
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	conn, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, conn, schema); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres schema: %w", err)
	}
	s.wconn = conn // the migration's connection becomes the writer's
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.node = newNodeID()
	if o.CacheSize >= 0 {
		size := o.CacheSize
		if size == 0 {
			size = 100000
		}
		s.cache = newCache(size)
		var ictx context.Context
		ictx, s.invalStop = context.WithCancel(context.Background())
		s.invalDone = make(chan struct{})
		go s.invalidations(ictx)
	}
	go s.writer()
	return s, nil
}

// Pool is the read pool (for the multi-node machinery and tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema is the schema holding the tables.
func (s *Store) Schema() string { return s.schema }

// Stats are counters of the writer.
type Stats struct {
	Commits      int64 // group commits
	Transactions int64 // Update calls those commits carried
	Retries      int64 // groups run again after a deadlock or serialisation failure
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Transactions: s.txs.Load(), Retries: s.retries.Load()}
}

// Close commits what is queued, stops the writer and closes the connections.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.closeOnce.Do(func() {
		<-s.done
		if s.invalStop != nil {
			s.invalStop()
			<-s.invalDone
		}
		if s.wconn != nil {
			s.closeErr = s.wconn.Close(context.Background())
		}
		s.pool.Close()
	})
	return s.closeErr
}

// View runs fn with reads on the pool.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return store.ErrClosed
	}
	return fn(&tx{ctx: ctx, q: s.pool, readOnly: true, s: s})
}

// Update queues fn for the writer and waits for its commit.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	o := &op{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.ops <- o:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// Once queued the outcome must be awaited: the writer may already have
	// committed it.
	return <-o.done
}

func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*op, 0, s.maxBatch)
	for {
		var first *op
		select {
		case first = <-s.ops:
		case <-s.closing:
			select {
			case first = <-s.ops:
			default:
				return
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.run(batch)
	}
}

// retryable: PostgreSQL gave up on the transaction because of another one
// (a deadlock between two nodes' groups, a serialisation failure); running
// the group again will do.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (s *Store) conn(ctx context.Context) (*pgx.Conn, error) {
	if s.wconn != nil && !s.wconn.IsClosed() {
		return s.wconn, nil
	}
	if s.wconn != nil {
		s.wconn.Close(ctx)
		s.wconn = nil
	}
	c, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return nil, err
	}
	s.wconn = c
	return c, nil
}

// run commits one group. dropped callers are out of the group: they failed
// (their result is set) and are not run again.
func (s *Store) run(batch []*op) {
	results := make([]error, len(batch))
	dropped := make([]bool, len(batch))
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i], dropped[i] = err, true
		}
	}
	// sync: callers whose Creates run one at a time (their pipelined insert
	// failed once).
	sync := make([]bool, len(batch))
	var err error
	pessimistic := false
	for attempt := 0; ; attempt++ {
		err = s.attempt(batch, results, dropped, sync, pessimistic)
		if err == nil || !retryable(err) || attempt >= 10 {
			break
		}
		// A row read from the cache may have been the one that changed:
		// read the database from now on.
		pessimistic = true
		s.retries.Add(1)
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	if err == nil {
		s.commits.Add(1)
		s.txs.Add(int64(len(batch)))
	}
	for i, o := range batch {
		if err != nil && !dropped[i] {
			results[i] = err
		}
		o.done <- results[i]
	}
}

// attempt runs the group's callers in one transaction and commits it. When a
// caller fails after writing, the transaction is rolled back and started
// again without it.
//
// A Create does not wait for its INSERT: the inserts are queued and sent
// together, in one round trip, before the next statement of the group (or
// with the COMMIT), so that a group of contentInstances under containers it
// already read costs one round trip in all. r.Seq is set when the insert's
// answer is read, before Update returns. When a queued insert fails (a name
// taken: ErrExists is due, or any other error) the group starts again with
// that caller's Creates run one at a time, so that it sees its error where
// it made the Create and the others are not affected.
func (s *Store) attempt(batch []*op, results []error, dropped, sync []bool, pessimistic bool) error {
	ctx := context.Background()
	c, err := s.conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
restart:
	if _, err := c.Exec(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("postgres begin: %w", err)
	}
	w := newWState()
	for i, o := range batch {
		if dropped[i] {
			continue
		}
		results[i] = nil
		t := &tx{ctx: ctx, s: s, w: w, idx: i, pipeline: !sync[i], pessimistic: pessimistic || s.cache == nil}
		t.q = &wconn{c: c, w: w}
		w.op = newPending()
		clear(w.opFresh)
		err := safeCall(o.fn, t)
		if err != nil && t.fatal == nil && w.queuedBy(i) {
			// It may have failed because a Create of its own seemed to
			// succeed: learn whether one did not, before its error counts.
			t.fatal = w.drain(ctx, c)
		}
		var pe *pipeErr
		switch {
		case errors.As(t.fatal, &pe):
			s.rollback(c)
			if !pe.again(sync) {
				return pe.err
			}
			sync[pe.idx] = true
			goto restart
		case t.fatal != nil:
			s.rollback(c)
			if retryable(t.fatal) {
				return t.fatal
			}
			if err == nil {
				err = t.fatal
			}
			results[i], dropped[i] = fmt.Errorf("postgres: %w", err), true
			goto restart
		case err != nil && t.wrote:
			s.rollback(c)
			results[i], dropped[i] = err, true
			goto restart
		case err != nil:
			results[i], dropped[i] = err, true
		default:
			w.group.merge(w.op)
			w.mergeFresh()
		}
	}
	w.op = newPending()
	// The queued inserts, the Puts deferred to now and the commit go in one
	// round trip.
	b := &pgx.Batch{}
	ins := w.queueInserts(b)
	n, err := w.group.queue(b, w.written)
	if err != nil {
		s.rollback(c)
		return err
	}
	// The events for the other nodes (see nodes.go): delivered on commit.
	if w.outboxLocked {
		b.Queue("SELECT pg_notify($1, $2)", s.channel(), EventOutbox)
		n++
	}
	if w.routes {
		b.Queue("SELECT pg_notify($1, $2)", s.channel(), EventRoutes)
		n++
	}
	if s.cache != nil && !w.ch.empty() {
		b.Queue("SELECT pg_notify($1, $2)", s.invalChannel(), w.ch.payload(s.node))
		n++
	}
	b.Queue("COMMIT")
	// What the cache may hold after the commit is what it held before it was
	// sent, unless another node's invalidation arrives meanwhile.
	gen := s.cache.generation()
	br := c.SendBatch(ctx, b)
	if err := w.readInserts(br, ins); err != nil {
		br.Close()
		s.rollback(c)
		var pe *pipeErr
		if errors.As(err, &pe) && pe.again(sync) {
			sync[pe.idx] = true
			goto restart
		}
		if pe != nil {
			return pe.err
		}
		return err
	}
	for range n {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("postgres: the transaction was rolled back (%s)", tag)
	}
	if err != nil {
		// Whether it was committed is not known (the connection may have
		// failed after the COMMIT reached the server).
		s.cache.drop(&changes{all: true})
		s.rollback(c)
		return fmt.Errorf("postgres commit: %w", err)
	}
	// Before the callers hear of the commit, their next reads see it.
	s.cache.commit(&w.ch, w.cacheable(), gen)
	return nil
}

func (s *Store) rollback(c *pgx.Conn) {
	if _, err := c.Exec(context.Background(), "ROLLBACK"); err != nil {
		s.log.Warn("postgres: rollback failed; reconnecting", "err", err)
		c.Close(context.Background())
	}
}

// safeCall turns a panic in a transaction function into an error.
func safeCall(fn func(store.Tx) error, t store.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in transaction: %v", r)
		}
	}()
	return fn(t)
}

// pending holds the rows replaced by Put, written at commit: a container that
// every new contentInstance of a group updates is written once.
type pending struct {
	byRI   map[string]*resource.Resource
	byPath map[string]string
}

func newPending() *pending {
	return &pending{byRI: map[string]*resource.Resource{}, byPath: map[string]string{}}
}

func (p *pending) put(r *resource.Resource) {
	p.byRI[r.RI] = r
	p.byPath[r.Path] = r.RI
}

func (p *pending) merge(o *pending) {
	for _, r := range o.byRI {
		p.put(r)
	}
}

// dropTree forgets the rows at path and below.
func (p *pending) dropTree(path string) {
	for q, ri := range p.byPath {
		if q == path || strings.HasPrefix(q, path+"/") {
			delete(p.byPath, q)
			delete(p.byRI, ri)
		}
	}
}

// queue adds the UPDATEs of p to b; wrote learns the stored form of each.
func (p *pending) queue(b *pgx.Batch, wrote func(*resource.Resource, []byte)) (int, error) {
	n := 0
	for ri, r := range p.byRI {
		data, err := encode(r)
		if err != nil {
			return 0, err
		}
		wrote(r, data)
		// A row deleted meanwhile simply matches nothing.
		b.Queue("UPDATE resources SET et = $1, lbl = $2, data = $3 WHERE ri = $4", etValue(r), labels(r), data, ri)
		n++
	}
	return n, nil
}

// wstate is the writer's state within one transaction.
type wstate struct {
	group, op *pending // the group's deferred Puts, and the current caller's
	// locked holds the rows read with FOR UPDATE (ri → path): a Put of one
	// of them needs no query to know it exists.
	locked       map[string]string
	outboxLocked bool
	// routes: a <remoteCSE> was written (EventRoutes at commit).
	routes bool
	// ch: what the caches must drop at commit.
	ch changes
	// fresh: what the group created or replaced (ri → final state), for
	// the cache after the commit; opFresh: the current caller's.
	fresh, opFresh map[string]*written
	// queued: inserts (and checks of rows read from the cache) not yet sent.
	queued []insert
	// deleted: the paths of the group's DeleteTrees.
	deleted []string
	// absent: the ris ("r" + ri) and paths ("p" + path) the group looked up and did
	// not find, and has not created since: looking again needs no query (a
	// registration checks its AE-ID twice). A row another node inserts
	// meanwhile is found by the unique indexes at the insert.
	absent map[string]bool
}

// deletedUnder reports whether path is at or below a path the group deleted.
func (w *wstate) deletedUnder(path string) bool {
	for _, d := range w.deleted {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

func newWState() *wstate {
	return &wstate{group: newPending(), op: newPending(), locked: map[string]string{},
		fresh: map[string]*written{}, opFresh: map[string]*written{}, absent: map[string]bool{}}
}

// wrote records r (the writer's own copy) as created or replaced by the
// current caller.
func (w *wstate) wrote(r *resource.Resource, created bool) {
	if old := w.opFresh[r.RI]; old != nil {
		created = created || old.created
	} else if old := w.fresh[r.RI]; old != nil {
		created = created || old.created
	}
	w.opFresh[r.RI] = &written{r: r, created: created}
}

// written records data as the stored form of r (a deferred Put being
// written), for the cache.
func (w *wstate) written(r *resource.Resource, data []byte) {
	for _, m := range []map[string]*written{w.opFresh, w.fresh} {
		if f := m[r.RI]; f != nil && f.r == r {
			f.data = data
		}
	}
}

// mergeFresh keeps the current caller's writes: it succeeded.
func (w *wstate) mergeFresh() {
	for ri, f := range w.opFresh {
		w.fresh[ri] = f
	}
	clear(w.opFresh)
}

// forget drops what was written at path and below (deleted).
func (w *wstate) forget(path string) {
	for _, m := range []map[string]*written{w.opFresh, w.fresh} {
		for ri, f := range m {
			if f.r.Path == path || strings.HasPrefix(f.r.Path, path+"/") {
				delete(m, ri)
			}
		}
	}
}

// cacheable returns what the cache may hold after the commit. A created
// resource counts as its parent's newest child only if the parent's row was
// locked in this transaction: that lock orders this commit after every
// other commit of a child there (see cache.commit).
func (w *wstate) cacheable() map[string]*written {
	for _, f := range w.fresh {
		if f.created {
			if _, ok := w.locked[f.r.PI]; !ok {
				f.created = false
			}
		}
	}
	return w.fresh
}

func (w *wstate) lookup(ri, path string) (*resource.Resource, bool) {
	for _, p := range []*pending{w.op, w.group} {
		if ri == "" {
			ri = p.byPath[path]
			if ri == "" {
				continue
			}
		}
		if r, ok := p.byRI[ri]; ok {
			return r, true
		}
	}
	return nil, false
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insert is a Create queued by the writer.
type insert struct {
	idx     int                // the caller's index in the group
	r, copy *resource.Resource // the caller's, and the cache's
	args    []any
	// verify: not an insert but the check of a row read from the cache
	// (args: ri, data).
	verify bool
}

const insertSQL = "INSERT INTO resources (ri, pi, ty, path, et, lbl, data) VALUES ($1, $2, $3, $4, $5, $6, $7)"

// pipeErr: the queued insert of the group's caller idx failed.
type pipeErr struct {
	idx    int
	err    error
	verify bool // the check of a row read from the cache failed
}

// again reports whether the group should start again with caller idx's
// Creates run one at a time: its insert failed, for the first time.
func (e *pipeErr) again(sync []bool) bool {
	return !e.verify && !retryable(e.err) && !sync[e.idx]
}

func (e *pipeErr) Error() string { return "postgres: " + e.err.Error() }
func (e *pipeErr) Unwrap() error { return e.err }

// queueInserts adds the queued inserts to b; readInserts reads their
// answers.
func (w *wstate) queueInserts(b *pgx.Batch) []insert {
	ins := w.queued
	for _, q := range ins {
		if q.verify {
			b.Queue("SELECT onecse_lock($1, $2)", q.args...)
		} else {
			b.Queue(insertSQL+" RETURNING seq", q.args...)
		}
	}
	w.queued = nil
	return ins
}

func (w *wstate) readInserts(br pgx.BatchResults, ins []insert) error {
	for _, q := range ins {
		if q.verify {
			if _, err := br.Exec(); err != nil {
				return &pipeErr{idx: q.idx, err: err, verify: true}
			}
			continue
		}
		var seq int64
		if err := br.QueryRow().Scan(&seq); err != nil {
			return &pipeErr{idx: q.idx, err: err}
		}
		q.r.Seq, q.copy.Seq = seq, seq
	}
	return nil
}

// queuedBy reports whether caller idx has inserts waiting.
func (w *wstate) queuedBy(idx int) bool {
	for _, q := range w.queued {
		if q.idx == idx {
			return true
		}
	}
	return false
}

// drain sends the queued inserts and reads their answers.
func (w *wstate) drain(ctx context.Context, c *pgx.Conn) error {
	if len(w.queued) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	ins := w.queueInserts(b)
	br := c.SendBatch(ctx, b)
	err := w.readInserts(br, ins)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = &pipeErr{idx: ins[len(ins)-1].idx, err: cerr}
	}
	return err
}

// wconn is the writer's connection as its callers use it: every statement
// is preceded by the queued inserts, so that it sees them.
type wconn struct {
	c *pgx.Conn
	w *wstate
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (q *wconn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := q.w.drain(ctx, q.c); err != nil {
		return nil, err
	}
	return q.c.Query(ctx, sql, args...)
}

func (q *wconn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := q.w.drain(ctx, q.c); err != nil {
		return errRow{err}
	}
	return q.c.QueryRow(ctx, sql, args...)
}

func (q *wconn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := q.w.drain(ctx, q.c); err != nil {
		return pgconn.CommandTag{}, err
	}
	return q.c.Exec(ctx, sql, args...)
}

type tx struct {
	ctx      context.Context
	q        querier
	s        *Store
	readOnly bool
	w        *wstate // the writer's; nil in a View
	// idx is the caller's index in the group; pipeline: its Creates are
	// queued (see Store.attempt); pessimistic: reads go to the database.
	idx         int
	pipeline    bool
	pessimistic bool
	// wrote: a statement of this caller changed the database. fatal: a
	// statement failed, which ends PostgreSQL's transaction.
	wrote bool
	fatal error
}

func (t *tx) sqlErr(err error) error {
	if err != nil && !t.readOnly && t.fatal == nil && !errors.Is(err, store.ErrNotFound) {
		t.fatal = err
	}
	return err
}

func encode(r *resource.Resource) ([]byte, error) {
	return envelope.Encode(r)
}

func etValue(r *resource.Resource) any {
	if r.ET.IsZero() {
		return nil
	}
	return r.ET.UTC()
}

// labels returns the labels for the lbl column (discovery by label).
func labels(r *resource.Resource) []string {
	l, ok := r.Attrs["lbl"].([]any)
	if !ok || len(l) == 0 {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok && !strings.ContainsRune(s, 0) {
			out = append(out, s)
		}
	}
	return out
}

type scanner interface{ Scan(...any) error }

func scan(row scanner) (*resource.Resource, error) {
	r, _, err := scanRaw(row)
	return r, err
}

// scanRaw is scan that also returns the stored form (the data column).
func scanRaw(row scanner) (*resource.Resource, []byte, error) {
	var (
		r    resource.Resource
		ty   int32
		et   *time.Time
		data []byte
	)
	if err := row.Scan(&r.Seq, &r.RI, &r.PI, &ty, &r.Path, &et, &data); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, store.ErrNotFound
		}
		return nil, nil, err
	}
	r.Ty = int(ty)
	if err := envelope.Decode(data, &r); err != nil {
		return nil, nil, fmt.Errorf("postgres: corrupt resource %s: %w", r.RI, err)
	}
	if et != nil {
		r.ET = et.UTC()
	}
	return &r, data, nil
}

func (t *tx) one(ri, path string) (*resource.Resource, error) {
	if t.w != nil {
		if r, ok := t.w.lookup(ri, path); ok {
			return r.Clone(), nil
		}
	}
	key := "r" + ri
	if ri == "" {
		key = "p" + path
	}
	if t.w != nil && t.w.absent[key] {
		return nil, store.ErrNotFound
	}
	var gen uint64
	if t.readOnly {
		if r := t.s.cache.get(ri, path); r != nil {
			return r, nil
		}
		gen = t.s.cache.generation()
	} else if !t.pessimistic {
		// Committed state from the cache, without a query: the row is
		// locked, and checked to still hold exactly what was read, by a
		// statement queued ahead of the commit (onecse_lock, which fails
		// with a serialisation failure when another node changed or
		// deleted it meanwhile: the group then runs again reading the
		// database). A resource this group deleted is not taken from it.
		if r, data := t.s.cache.getRaw(ri, path); r != nil && !t.w.deletedUnder(r.Path) {
			t.w.queued = append(t.w.queued, insert{idx: t.idx, verify: true, args: []any{r.RI, data}})
			t.w.locked[r.RI] = r.Path
			return r, nil
		}
	}
	q := "SELECT " + cols + " FROM resources WHERE ri = $1"
	arg := ri
	if ri == "" {
		q, arg = "SELECT "+cols+" FROM resources WHERE path = $1", path
	}
	if !t.readOnly {
		q += " FOR UPDATE"
	}
	r, data, err := scanRaw(t.q.QueryRow(t.ctx, q, arg))
	if t.w != nil && errors.Is(err, store.ErrNotFound) {
		t.w.absent[key] = true
	}
	if err != nil {
		return nil, t.sqlErr(err)
	}
	if t.w != nil {
		t.w.locked[r.RI] = r.Path
	} else {
		t.s.cache.fill(r, data, gen)
	}
	return r, nil
}

func (t *tx) Get(ri string) (*resource.Resource, error) { return t.one(ri, "") }

func (t *tx) GetByPath(path string) (*resource.Resource, error) { return t.one("", path) }

func (t *tx) Create(r *resource.Resource) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	data, err := encode(r)
	if err != nil {
		return err
	}
	t.wrote = true
	delete(t.w.absent, "r"+r.RI)
	delete(t.w.absent, "p"+r.Path)
	args := []any{r.RI, r.PI, r.Ty, r.Path, etValue(r), labels(r), data}
	cp := r.Clone()
	if t.pipeline {
		t.w.queued = append(t.w.queued, insert{idx: t.idx, r: r, copy: cp, args: args})
	} else {
		// ON CONFLICT DO NOTHING: a duplicate ri or path inserts nothing
		// and raises no error, so the transaction stays usable (the core
		// tries another name).
		err = t.q.QueryRow(t.ctx, insertSQL+" ON CONFLICT DO NOTHING RETURNING seq", args...).Scan(&r.Seq)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrExists
		}
		if err != nil {
			return t.sqlErr(err)
		}
		cp.Seq = r.Seq
	}
	t.w.locked[r.RI] = r.Path
	t.w.routes = t.w.routes || r.Ty == resource.TyRemoteCSE
	t.w.ch.child(r.PI, r.Ty)
	t.w.wrote(cp, true)
	t.w.opFresh[cp.RI].data = data
	return nil
}

func (t *tx) Put(r *resource.Resource) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if _, ok := t.w.lookup(r.RI, ""); !ok {
		if _, ok := t.w.locked[r.RI]; !ok {
			if _, err := t.one(r.RI, ""); err != nil {
				return err
			}
		}
	}
	c := r.Clone()
	if p, ok := t.w.locked[r.RI]; ok {
		c.Path = p // Path does not change with a Put
	}
	t.w.op.put(c)
	t.w.wrote(c, false)
	t.w.ch.puts = append(t.w.ch.puts, c.RI)
	t.w.routes = t.w.routes || r.Ty == resource.TyRemoteCSE
	return nil
}

func (t *tx) DeleteTree(r *resource.Resource) (int, error) {
	if t.readOnly {
		return 0, store.ErrReadOnly
	}
	t.wrote = true
	tag, err := t.q.Exec(t.ctx, "DELETE FROM resources WHERE path = $1 OR (path > $2 AND path < $3)", r.Path, r.Path+"/", r.Path+"0")
	if err != nil {
		return 0, t.sqlErr(err)
	}
	t.w.routes = t.w.routes || r.Ty == resource.TyRemoteCSE || r.Ty == resource.TyCSEBase
	t.w.op.dropTree(r.Path)
	t.w.group.dropTree(r.Path)
	t.w.forget(r.Path)
	t.w.deleted = append(t.w.deleted, r.Path)
	for ri, p := range t.w.locked {
		if p == r.Path || strings.HasPrefix(p, r.Path+"/") {
			delete(t.w.locked, ri)
		}
	}
	n := int(tag.RowsAffected())
	if n == 0 {
		return 0, store.ErrNotFound
	}
	t.w.ch.dels = append(t.w.ch.dels, r.Path)
	if n > 1 {
		t.w.ch.trees = append(t.w.ch.trees, r.Path+"/")
	}
	return n, nil
}

// many runs a query of resources and returns them all (the connection is
// free again before the caller sees them, so that it may read meanwhile),
// each replaced by its deferred Put when the writer holds one.
func (t *tx) many(q string, args ...any) ([]*resource.Resource, error) {
	rows, err := t.q.Query(t.ctx, q, args...)
	if err != nil {
		return nil, t.sqlErr(err)
	}
	defer rows.Close()
	var out []*resource.Resource
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, t.sqlErr(err)
		}
		if t.w != nil {
			if p, ok := t.w.lookup(r.RI, ""); ok {
				r = p.Clone()
			}
		}
		out = append(out, r)
	}
	return out, t.sqlErr(rows.Err())
}

func limitArg(n int) any {
	if n <= 0 {
		return nil // LIMIT NULL: no limit
	}
	return n
}

func (t *tx) Children(pi string, q store.ChildQuery) ([]*resource.Resource, error) {
	order := " ORDER BY seq"
	if q.Newest {
		order += " DESC"
	}
	if len(q.Types) == 1 && q.Newest && q.Limit == 1 && q.Offset == 0 && t.readOnly {
		// The newest child of one type (a container's la): from the cache
		// when it knows it.
		if r := t.s.cache.newest(pi, q.Types[0]); r != nil {
			return []*resource.Resource{r}, nil
		}
		gen := t.s.cache.generation()
		r, data, err := scanRaw(t.q.QueryRow(t.ctx, "SELECT "+cols+" FROM resources WHERE pi = $1 AND ty = $2"+order+" LIMIT 1", pi, q.Types[0]))
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		t.s.cache.fillNewest(r, data, gen)
		return []*resource.Resource{r}, nil
	}
	switch len(q.Types) {
	case 0:
		return t.many("SELECT "+cols+" FROM resources WHERE pi = $1"+order+" LIMIT $2 OFFSET $3", pi, limitArg(q.Limit), q.Offset)
	case 1:
		return t.many("SELECT "+cols+" FROM resources WHERE pi = $1 AND ty = $2"+order+" LIMIT $3 OFFSET $4", pi, q.Types[0], limitArg(q.Limit), q.Offset)
	}
	return t.many("SELECT "+cols+" FROM resources WHERE pi = $1 AND ty = ANY($2)"+order+" LIMIT $3 OFFSET $4", pi, q.Types, limitArg(q.Limit), q.Offset)
}

// walkChunk is how many rows Walk reads per query: a walk over millions of
// resources holds neither a connection nor all of them at once.
const walkChunk = 512

func (t *tx) Walk(path string, types []int, fn func(*resource.Resource) bool) error {
	lo, hi := path+"/", path+"0"
	for {
		var rs []*resource.Resource
		var err error
		// One type is filtered by PostgreSQL; subscriptions through their
		// partial index (the literal 23 lets the planner use it).
		switch {
		case len(types) == 1 && types[0] == resource.TySubscription:
			rs, err = t.many("SELECT "+cols+" FROM resources WHERE ty = 23 AND path > $1 AND path < $2 ORDER BY path LIMIT $3", lo, hi, walkChunk)
		case len(types) == 1:
			rs, err = t.many("SELECT "+cols+" FROM resources WHERE path > $1 AND path < $2 AND ty = $3 ORDER BY path LIMIT $4", lo, hi, types[0], walkChunk)
		case len(types) > 1:
			rs, err = t.many("SELECT "+cols+" FROM resources WHERE path > $1 AND path < $2 AND ty = ANY($3) ORDER BY path LIMIT $4", lo, hi, types, walkChunk)
		default:
			rs, err = t.many("SELECT "+cols+" FROM resources WHERE path > $1 AND path < $2 ORDER BY path LIMIT $3", lo, hi, walkChunk)
		}
		if err != nil {
			return err
		}
		for _, r := range rs {
			if !fn(r) {
				return nil
			}
		}
		if len(rs) < walkChunk {
			return nil
		}
		lo = rs[len(rs)-1].Path
	}
}

// flush writes the deferred Puts now (before a query whose answer depends on
// what they change).
func (t *tx) flush() error {
	b := &pgx.Batch{}
	n1, err := t.w.group.queue(b, t.w.written)
	if err != nil {
		return err
	}
	n2, err := t.w.op.queue(b, t.w.written)
	if err != nil {
		return err
	}
	if n1+n2 == 0 {
		return nil
	}
	// The caller's own Puts reach the database now: if it fails later, the
	// group must start again without it.
	t.wrote = true
	q := t.q.(*wconn)
	if err := q.w.drain(t.ctx, q.c); err != nil {
		return t.sqlErr(err)
	}
	if err := q.c.SendBatch(t.ctx, b).Close(); err != nil {
		return t.sqlErr(err)
	}
	t.w.group, t.w.op = newPending(), newPending()
	return nil
}

func (t *tx) Expired(now time.Time, limit int) ([]*resource.Resource, error) {
	if t.w != nil {
		if err := t.flush(); err != nil {
			return nil, err
		}
	}
	return t.many("SELECT "+cols+" FROM resources WHERE et IS NOT NULL AND et < $1 ORDER BY et LIMIT $2", now.UTC(), limitArg(limit))
}

func (t *tx) AppendOutbox(data []byte) (int64, error) {
	if t.readOnly {
		return 0, store.ErrReadOnly
	}
	t.wrote = true
	// Seqs are drawn only under this lock, which is held until the commit
	// is visible: appenders commit in Seq order (see the package comment).
	if !t.w.outboxLocked {
		if _, err := t.q.Exec(t.ctx, "SELECT pg_advisory_xact_lock($1)", t.s.outboxLock); err != nil {
			return 0, t.sqlErr(err)
		}
		t.w.outboxLocked = true
	}
	var seq int64
	err := t.q.QueryRow(t.ctx, "INSERT INTO outbox (data) VALUES ($1) RETURNING seq", data).Scan(&seq)
	return seq, t.sqlErr(err)
}

func (t *tx) Outbox(after int64, limit int) ([]store.OutboxEntry, error) {
	rows, err := t.q.Query(t.ctx, "SELECT seq, data FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2", after, limitArg(limit))
	if err != nil {
		return nil, t.sqlErr(err)
	}
	defer rows.Close()
	var out []store.OutboxEntry
	for rows.Next() {
		var e store.OutboxEntry
		if err := rows.Scan(&e.Seq, &e.Data); err != nil {
			return nil, t.sqlErr(err)
		}
		out = append(out, e)
	}
	return out, t.sqlErr(rows.Err())
}

func (t *tx) DeleteOutbox(seqs []int64) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if len(seqs) == 0 {
		return nil
	}
	t.wrote = true
	_, err := t.q.Exec(t.ctx, "DELETE FROM outbox WHERE seq = ANY($1)", seqs)
	return t.sqlErr(err)
}

func (t *tx) SetMark(key string, v int64) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	t.wrote = true
	_, err := t.q.Exec(t.ctx, "INSERT INTO marks (key, v) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET v = excluded.v", key, v)
	return t.sqlErr(err)
}

func (t *tx) Marks(prefix string) (map[string]int64, error) {
	rows, err := t.q.Query(t.ctx, "SELECT key, v FROM marks WHERE starts_with(key, $1)", prefix)
	if err != nil {
		return nil, t.sqlErr(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, t.sqlErr(err)
		}
		out[k] = v
	}
	return out, t.sqlErr(rows.Err())
}

func (t *tx) DeleteMarks(prefix string) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	t.wrote = true
	_, err := t.q.Exec(t.ctx, "DELETE FROM marks WHERE starts_with(key, $1)", prefix)
	return t.sqlErr(err)
}

var _ store.Store = (*Store)(nil)

// CountChildren counts the direct children of the resource pi of type ty
// (through the (pi, ty, seq) index): for gauges such as the number of
// registered AEs.
func (s *Store) CountChildren(ctx context.Context, pi string, ty int) (int, error) {
	if err := s.open(); err != nil {
		return 0, err
	}
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM resources WHERE pi = $1 AND ty = $2", pi, ty).Scan(&n)
	return n, err
}

// OutboxLen is the number of outbox entries not yet fully delivered.
func (s *Store) OutboxLen(ctx context.Context) (int, error) {
	if err := s.open(); err != nil {
		return 0, err
	}
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM outbox").Scan(&n)
	return n, err
}

// Ping checks that the store is open and the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.open(); err != nil {
		return err
	}
	return s.pool.Ping(ctx)
}

func (s *Store) open() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}
