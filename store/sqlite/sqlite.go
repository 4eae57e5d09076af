// Package sqlite is the embedded default store: one SQLite database file in WAL
// mode (modernc.org/sqlite, pure Go, so no C toolchain is needed).
//
// Writes go through one writer goroutine that commits whatever transactions are
// waiting together (group commit). A caller that fails leaves nothing: when it
// had already written, the group is run again without it. One fsync makes a
// group durable, and it runs beside the writer, which meanwhile commits the next
// group; the callers of a group hear only after its fsync. With sync=full an
// acknowledged write survives a crash of the process or the machine; with
// sync=normal, a crash of the process. Readers may see a group's writes
// between its commit and its fsync (only a machine crash in that instant could
// then take back what they saw, and then nobody was told it was written).
//
// Decoded resources are cached (cache.go), so the hot reads cost no query.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/onecse/onecse/primitive"
	"github.com/onecse/onecse/resource"
	"github.com/onecse/onecse/store"
	"github.com/onecse/onecse/store/envelope"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

const schema = `
CREATE TABLE IF NOT EXISTS resources (
	-- AUTOINCREMENT: a seq is never handed out again, not even after the
	-- newest row was deleted (see resource.Resource.Seq).
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	ri   TEXT NOT NULL UNIQUE,
	pi   TEXT NOT NULL,
	ty   INTEGER NOT NULL,
	path TEXT NOT NULL UNIQUE,
	et   TEXT,
	data BLOB NOT NULL
);
-- (pi, ty, seq) serves the children of one type in creation order, so that
-- la/ol (newest/oldest contentInstance) cost the same with 10 or 1,000,000
-- instances; (pi, seq) the same for children of any type.
CREATE INDEX IF NOT EXISTS resources_children ON resources(pi, ty, seq);
CREATE INDEX IF NOT EXISTS resources_children_seq ON resources(pi, seq);
CREATE INDEX IF NOT EXISTS resources_expiry ON resources(et) WHERE et IS NOT NULL;
-- The subscriptions below a resource that is deleted are found through this
-- partial index (ty 23 = <subscription>) without scanning the subtree; a
-- contentInstance insert costs only the test of the predicate.
CREATE INDEX IF NOT EXISTS resources_subs ON resources(path) WHERE ty = 23;
-- The notification outbox (store.Tx.AppendOutbox): AUTOINCREMENT, so that a
-- Seq is never handed out again.
CREATE TABLE IF NOT EXISTS outbox (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	data BLOB NOT NULL
);
-- Discovery by label: one row per label of a resource, so that lbl=... finds
-- what it asks for without reading the subtree. Resources without labels
-- (most contentInstances) cost nothing here.
CREATE TABLE IF NOT EXISTS labels (
	lbl  TEXT NOT NULL,
	path TEXT NOT NULL,
	PRIMARY KEY (lbl, path)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS labels_path ON labels(path);
CREATE TABLE IF NOT EXISTS marks (
	key TEXT PRIMARY KEY,
	v   INTEGER NOT NULL
) WITHOUT ROWID;
`

const cols = "seq, ri, pi, ty, path, et, data"

// joinCols are cols of the resources table named r in a join.
const joinCols = "r.seq, r.ri, r.pi, r.ty, r.path, r.et, r.data"

// Options tune the store.
type Options struct {
	// Sync is the SQLite synchronous level: "full" (default, durable against
	// power loss) or "normal" (durable against a process crash only).
	Sync string
	// MaxBatch bounds how many transactions one commit groups (default 256).
	MaxBatch int
	// MaxLinger bounds how long a group waits for callers to join it (see
	// Store.linger): default 2ms; negative: never wait.
	MaxLinger time.Duration
	// CacheSize is how many decoded resources are kept in memory (default
	// 100,000; negative disables the cache).
	CacheSize int
	// Observer, when set, is told how long the store's work takes (for
	// metrics). Nil: nobody is told.
	Observer Observer
}

// Observer receives the store's timings. Its methods are called from the
// writer and from callers of Update, so they must be quick and safe for
// concurrent use.
type Observer interface {
	// Commit is one group commit of txs transactions that took d from the
	// start of its SQL transaction to its commit (without the fsync);
	// ok=false when it was rolled back or failed.
	Commit(txs int, d time.Duration, ok bool)
	// Sync is one fsync of the write-ahead log (sync=full).
	Sync(d time.Duration, err error)
	// Update is one Update call from its start to its answer: the wait for
	// its group, the group's commit and the fsync.
	Update(d time.Duration, err error)
}

// Store is the SQLite store.
type Store struct {
	rdb, wdb *sql.DB
	ops      chan *op
	closing  chan struct{}
	done     chan struct{}
	maxBatch int
	// mu orders Close after every Update that is queueing its op: Update
	// holds it shared from the closed check until its op is in s.ops, so
	// once Close has set closed no op can arrive after the writer's final
	// drain (it would wait forever for an answer).
	mu        sync.RWMutex
	closed    bool
	closeOnce sync.Once
	closeErr  error
	reads     *stmts
	// commits counts group commits, so that a benchmark can show how many
	// transactions one commit (one fsync) carries.
	commits atomic.Int64
	txs     atomic.Int64
	// walSync: acknowledge a group only after fsyncing the WAL (sync=full).
	walSync bool
	walPath string
	wal     *os.File // owned by syncer
	acks    chan ack
	synced  chan struct{}
	// unsynced counts committed groups not yet fsynced; syncedSig wakes the
	// writer after each fsync.
	unsynced  atomic.Int64
	syncedSig chan struct{}
	// lastSync is how long the latest fsync took (ns); maxLinger bounds the
	// wait it allows (see linger).
	lastSync  atomic.Int64
	maxLinger time.Duration
	cache     *cache
	tail      *outboxTail
	obs       Observer
}

type op struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error
}

// ops are reused (with their channel) from Update to Update. An op goes back
// to the pool only after its answer was received: the writer and the syncer
// send that answer last and do not look at the op again (stale pointers in
// their batch slices are never read), and the channel is empty then.
var opPool = sync.Pool{New: func() any { return &op{done: make(chan error, 1)} }}

// Open opens (creating if needed) the database in dir.
func Open(dir string, o Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// With sync=full SQLite runs at synchronous=NORMAL and the store fsyncs the
	// WAL itself before it acknowledges a group (see syncer): the next group
	// can then be written while the previous one is being flushed, instead of
	// the writer sitting idle through every fsync.
	walSync := !strings.EqualFold(o.Sync, "normal")
	sync := "NORMAL"
	path := filepath.Join(dir, "onecse.db")
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "cache_size(-65536)")
	dsn := "file:" + path + "?" + q.Encode()
	wdb, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if _, err := wdb.Exec(schema); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite schema: %w", err)
	}
	if err := migrate(wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite schema: %w", err)
	}
	rdb, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, err
	}
	n := runtime.GOMAXPROCS(0) * 4
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxLifetime(0)
	s := &Store{rdb: rdb, wdb: wdb, ops: make(chan *op, 1024), closing: make(chan struct{}), done: make(chan struct{}), maxBatch: o.MaxBatch,
		walSync: walSync, walPath: path + "-wal", acks: make(chan ack, 64), synced: make(chan struct{}), syncedSig: make(chan struct{}, 1), obs: o.Observer}
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	switch {
	case o.MaxLinger == 0:
		s.maxLinger = 2 * time.Millisecond
	case o.MaxLinger > 0:
		s.maxLinger = o.MaxLinger
	}
	switch {
	case o.CacheSize == 0:
		s.cache = newCache(100000)
	case o.CacheSize < 0:
		s.cache = newCache(0)
	default:
		s.cache = newCache(o.CacheSize)
	}
	s.tail = newOutboxTail(defaultOutboxTail, defaultOutboxTailBytes)
	var seq int64
	err = wdb.QueryRow(outboxSeqQuery).Scan(&seq)
	s.tail.reset(seq, err)
	if s.reads, err = prepare(rdb); err != nil {
		s.rdb.Close()
		s.wdb.Close()
		return nil, err
	}
	go s.writer()
	go s.syncer()
	return s, nil
}

// schemaVersion is the PRAGMA user_version of a database whose derived tables
// are complete. 1: the labels table holds the labels of every resource.
const schemaVersion = 1

// migrate fills what the schema derives from the resources in a database
// written by an older onecse (the labels table did not exist before version
// 1), once, in one transaction.
func migrate(db *sql.DB) error {
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v >= schemaVersion {
		return nil
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.Query("SELECT " + cols + " FROM resources")
	if err != nil {
		return err
	}
	type label struct{ lbl, path string }
	var labels []label // read first: one statement at a time on the connection
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			rows.Close()
			return err
		}
		for _, l := range r.Strings("lbl") {
			labels = append(labels, label{l, r.Path})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for _, l := range labels {
		if _, err := tx.Exec("INSERT OR IGNORE INTO labels (lbl, path) VALUES (?, ?)", l.lbl, l.path); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// ack is a committed group waiting for its fsync before its callers hear.
type ack struct {
	ops     []*op
	results []error
}

// finish answers a group's callers: at once, or after the WAL holding the
// group's commit is on disk.
func (s *Store) finish(batch []*op, results []error, committed bool) {
	if committed && s.walSync {
		s.unsynced.Add(1)
		s.acks <- ack{ops: append([]*op(nil), batch...), results: results}
		return
	}
	for i, o := range batch {
		o.done <- results[i]
	}
}

// syncer fsyncs the WAL for the committed groups waiting (several at once
// when they queue up) and then acknowledges them. Every frame of a group was
// written before its commit returned, so an fsync begun after that makes the
// group durable.
func (s *Store) syncer() {
	defer close(s.synced)
	var pending []ack
	for a := range s.acks {
		pending = append(pending[:0], a)
	more:
		for {
			select {
			case a, ok := <-s.acks:
				if !ok {
					break more
				}
				pending = append(pending, a)
			default:
				break more
			}
		}
		start := time.Now()
		err := s.syncWAL()
		took := time.Since(start)
		s.lastSync.Store(int64(took))
		if s.obs != nil {
			s.obs.Sync(took, err)
		}
		for _, a := range pending {
			for i, o := range a.ops {
				if a.results[i] == nil && err != nil {
					a.results[i] = fmt.Errorf("sqlite: the commit could not be made durable: %w", err)
				}
				o.done <- a.results[i]
			}
		}
		s.unsynced.Add(-int64(len(pending)))
		select {
		case s.syncedSig <- struct{}{}:
		default:
		}
	}
	if s.wal != nil {
		s.wal.Close()
	}
}

func (s *Store) syncWAL() error {
	if s.wal == nil {
		f, err := os.OpenFile(s.walPath, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		s.wal = f
	}
	return s.wal.Sync()
}

// Close stops the writer after the queued transactions and closes the database.
// Closing again returns what the first Close returned.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.closeOnce.Do(func() {
		<-s.done
		<-s.synced
		s.reads.close()
		s.closeErr = errors.Join(s.rdb.Close(), s.wdb.Close())
	})
	return s.closeErr
}

// Stats are counters of the writer, for metrics and benchmarks.
type Stats struct {
	Commits      int64 // group commits (one fsync each with sync=full)
	Transactions int64 // Update calls those commits carried
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Transactions: s.txs.Load()}
}

// CountChildren counts the direct children of the resource pi of type ty
// (through the index, without reading them): for gauges such as the number
// of registered AEs.
func (s *Store) CountChildren(ctx context.Context, pi string, ty int) (int, error) {
	if err := s.ping(); err != nil {
		return 0, err
	}
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM resources WHERE pi = ? AND ty = ?", pi, ty).Scan(&n)
	return n, err
}

// OutboxLen is the number of outbox entries not yet fully delivered.
func (s *Store) OutboxLen(ctx context.Context) (int, error) {
	if err := s.ping(); err != nil {
		return 0, err
	}
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&n)
	return n, err
}

// Ping checks that the store is open and its database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ping(); err != nil {
		return err
	}
	var n int
	return s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

func (s *Store) ping() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// View runs fn on the read pool.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return store.ErrClosed
	}
	return fn(&tx{ctx: ctx, st: s.reads, readOnly: true, cache: s.cache, tail: s.tail})
}

// Update queues fn for the writer and waits for its commit.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.obs != nil {
		start := time.Now()
		err := s.update(ctx, fn)
		s.obs.Update(time.Since(start), err)
		return err
	}
	return s.update(ctx, fn)
}

func (s *Store) update(ctx context.Context, fn func(store.Tx) error) error {
	o := opPool.Get().(*op)
	o.ctx, o.fn = ctx, fn
	release := func() {
		o.ctx, o.fn = nil, nil
		opPool.Put(o)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		release()
		return store.ErrClosed
	}
	// The writer keeps taking ops until closed is set, which waits for this
	// read lock: the send cannot block for good.
	select {
	case s.ops <- o:
	case <-ctx.Done():
		s.mu.RUnlock()
		release()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// Once queued the outcome must be awaited: the writer may already have
	// committed it, and the caller must not report a failure for a kept write.
	err := <-o.done
	release()
	return err
}

func (s *Store) writer() {
	defer close(s.done)
	defer close(s.acks)
	// The writer runs on one connection of its own, held for good, with its
	// statements prepared on it and BEGIN/COMMIT as plain statements: a
	// database/sql Tx would bind every statement to each transaction anew and
	// take the pool's locks for each, which cost more than the inserts of a
	// small group.
	conn, err := s.wdb.Conn(context.Background())
	if err != nil {
		panic(fmt.Sprintf("sqlite: writer connection: %v", err))
	}
	defer conn.Close()
	wst, err := prepare(conn)
	if err != nil {
		panic(fmt.Sprintf("sqlite: prepare writer statements: %v", err))
	}
	wst.conn = conn
	defer wst.close()
	batch := make([]*op, 0, s.maxBatch)
	// The overlays live as long as the writer and are reset for each group,
	// not made anew: nothing keeps them after run (the cache takes the
	// resources they point to, the outbox tail copies their entries).
	ov := writerOverlays{batch: newOverlay(), op: newOverlay()}
	lastN := 0 // callers in the previous group
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first *op
		select {
		case first = <-s.ops:
		case <-s.closing:
			// Close waited for every Update that was queueing, so what is in
			// s.ops now is all there will ever be: commit it, then stop.
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
		// While an earlier group is being fsynced, these callers would wait
		// for that fsync to end before their own could start anyway: keep
		// gathering callers meanwhile, so that one commit (its CPU, its WAL
		// pages) serves more of them. It costs them no time.
	gather:
		for s.walSync && len(batch) < s.maxBatch && s.unsynced.Load() > 0 {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			case <-s.syncedSig:
			case <-s.closing:
				break gather
			}
		}
		batch = s.linger(batch, lastN, timer)
		lastN = len(batch)
		s.run(wst, batch, ov)
	}
}

// linger lets a group that is smaller than the previous one wait for more
// callers, at most as long as the latest fsync took (and s.maxLinger).
//
// Every group pays for its BEGIN, its COMMIT, the WAL pages it rewrites and
// the kernel's work in its fsync, however few callers it carries; on a busy
// CSE that is a large share of the CPU a write costs. Under steady load the
// callers of the previous group come back within about one fsync (their
// answers go out, their clients send the next request), so waiting for them
// that long lets one commit serve them all again, instead of the first few
// committing alone and the rest paying for a commit of their own. The same
// idea as PostgreSQL's commit_delay and commit_siblings, with the group
// size and the disk's own fsync time instead of two settings. A CSE with
// one caller at a time never waits (the previous group was one caller), and
// the wait adapts downwards at once when the load falls: a group that timed
// out sets the smaller size for the next one. Only with sync=full, whose
// callers wait for an fsync anyway and whose fsync time gives the wait its
// bound; with sync=normal nothing measures how long waiting would be worth.
func (s *Store) linger(batch []*op, lastN int, timer *time.Timer) []*op {
	if !s.walSync || len(batch) >= lastN || s.maxLinger <= 0 {
		return batch
	}
	wait := min(time.Duration(s.lastSync.Load()), s.maxLinger)
	if wait <= 0 {
		return batch
	}
	timer.Reset(wait)
	defer timer.Stop()
	for len(batch) < lastN && len(batch) < s.maxBatch {
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-timer.C:
			return batch
		case <-s.closing:
			return batch
		}
	}
	return batch
}

// writerOverlays are the writer's two overlays (see run).
type writerOverlays struct{ batch, op *overlay }

func (s *Store) run(wst *stmts, batch []*op, ov writerOverlays) {
	results := make([]error, len(batch))
	start := time.Now()
	if err := wst.begin(); err != nil {
		for _, o := range batch {
			o.done <- fmt.Errorf("sqlite begin: %w", err)
		}
		return
	}
	bound := wst
	batchOv, opOv := ov.batch, ov.op
	batchOv.reset()
	// call runs one caller's function. Its writes that reach SQL are undone
	// only together with the whole group (there are no per-caller savepoints:
	// their statements and page copies cost a third of the write path), so a
	// caller that fails after writing makes the group start again without it
	// (replay). That is rare: the core checks before it writes.
	call := func(o *op) (err error, wrote bool, fatal error) {
		opOv.reset()
		// Once the function runs, its statements must not be interrupted by
		// the caller's context: the driver answers a cancelled context with
		// sqlite3_interrupt, which rolls back the whole group's transaction.
		// The caller waits for the outcome anyway (see Update).
		t := &tx{ctx: context.WithoutCancel(o.ctx), st: bound, cache: s.cache, op: opOv, batch: batchOv}
		err = safeCall(o.fn, t)
		if err == nil && t.fatal == nil {
			batchOv.merge(opOv)
		}
		return err, t.wrote, t.fatal
	}
	// broken is set when a statement failed in a way after which SQLite may
	// have rolled the whole transaction back on its own (it does so on
	// SQLITE_INTERRUPT, _FULL, _IOERR, _NOMEM): going on would run the next
	// callers outside any transaction, each committed on its own.
	var broken error
	ran := make([]bool, len(batch))
	for i, o := range batch {
		if broken != nil {
			results[i] = broken
			continue
		}
		if err := o.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		err, wrote, fatal := call(o)
		ran[i] = true
		results[i] = err
		switch {
		case fatal != nil:
			broken = fmt.Errorf("sqlite: %w", fatal)
			results[i] = broken
		case err != nil && wrote:
			// Start the group again with the callers before i that succeeded.
			wst.rollback()
			if err := wst.begin(); err != nil {
				broken = fmt.Errorf("sqlite begin: %w", err)
				break
			}
			batchOv.reset()
			for j := 0; j < i && broken == nil; j++ {
				if !ran[j] || results[j] != nil {
					continue
				}
				err, wrote, fatal := call(batch[j])
				switch {
				case fatal != nil:
					broken = fmt.Errorf("sqlite: %w", fatal)
				case err != nil && wrote:
					broken = fmt.Errorf("sqlite: a transaction failed when run again: %w", err)
				default:
					results[j] = err
				}
			}
		}
	}
	committed := false
	if broken == nil {
		if err := flushPuts(bound, batchOv, s.cache); err != nil {
			broken = fmt.Errorf("sqlite: %w", err)
		}
	}
	if broken != nil {
		// Nothing of this group is kept: every caller that had succeeded
		// so far learns it failed.
		wst.rollback()
		for i := range results {
			if results[i] == nil {
				results[i] = broken
			}
		}
	} else if err := wst.commit(); err == nil {
		committed = true
		s.commits.Add(1)
		s.txs.Add(int64(len(batch)))
		s.cache.apply(batchOv)
		s.tail.apply(batchOv.outAdd, batchOv.outDel)
	} else {
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("sqlite commit: %w", err)
			}
		}
		s.cache.clear()
		var seq int64
		err := wst.conn.QueryRowContext(context.Background(), outboxSeqQuery).Scan(&seq)
		s.tail.reset(seq, err)
	}
	if s.obs != nil {
		s.obs.Commit(len(batch), time.Since(start), committed)
	}
	s.finish(batch, results, broken == nil && committed)
}

// safeCall turns a panic in a transaction function into an error, so that one
// bad request cannot take the writer (and every other request) down.
func safeCall(fn func(store.Tx) error, t store.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in transaction: %v", r)
		}
	}()
	return fn(t)
}

// stmts are the prepared statements of one database handle.
type stmts struct {
	get, getPath, insert, update, delTree, walk, expired *sql.Stmt
	walkTy, walkSubs                                     *sql.Stmt
	outboxAdd, outboxRead, outboxDel, outboxDelN         *sql.Stmt
	markSet, marks, markDel                              *sql.Stmt
	labelAdd, labelDel, labelDelTree, walkLabel          *sql.Stmt
	children, childrenTy, childrenDesc, childrenTyDesc   *sql.Stmt
	// conn is the writer's connection (nil for the read pool): its
	// statements run in the transaction begin opened on it.
	conn *sql.Conn
	// q runs the statements that are not prepared (children of several
	// types): the read pool, or the writer's connection.
	q interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

// preparer is a *sql.DB (the read pool) or a *sql.Conn (the writer's).
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func prepare(db preparer) (*stmts, error) {
	s := &stmts{q: db}
	var err error
	p := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(context.Background(), q)
		return st
	}
	s.get = p("SELECT " + cols + " FROM resources WHERE ri = ?")
	s.getPath = p("SELECT " + cols + " FROM resources WHERE path = ?")
	s.insert = p("INSERT INTO resources (ri, pi, ty, path, et, data) VALUES (?, ?, ?, ?, ?, ?)")
	s.update = p("UPDATE resources SET et = ?, data = ? WHERE ri = ?")
	s.delTree = p("DELETE FROM resources WHERE path = ? OR (path > ? AND path < ?)")
	s.children = p("SELECT " + cols + " FROM resources WHERE pi = ? ORDER BY seq LIMIT ? OFFSET ?")
	s.childrenTy = p("SELECT " + cols + " FROM resources WHERE pi = ? AND ty = ? ORDER BY seq LIMIT ? OFFSET ?")
	s.childrenDesc = p("SELECT " + cols + " FROM resources WHERE pi = ? ORDER BY seq DESC LIMIT ? OFFSET ?")
	s.childrenTyDesc = p("SELECT " + cols + " FROM resources WHERE pi = ? AND ty = ? ORDER BY seq DESC LIMIT ? OFFSET ?")
	s.walk = p("SELECT " + cols + " FROM resources WHERE path > ? AND path < ? ORDER BY path")
	s.expired = p("SELECT " + cols + " FROM resources WHERE et IS NOT NULL AND et < ? ORDER BY et LIMIT ?")
	s.walkTy = p("SELECT " + cols + " FROM resources WHERE path > ? AND path < ? AND ty = ? ORDER BY path")
	// The literal 23 lets SQLite use the partial index resources_subs (a
	// bound parameter would not).
	s.walkSubs = p("SELECT " + cols + " FROM resources WHERE ty = 23 AND path > ? AND path < ? ORDER BY path")
	s.outboxAdd = p("INSERT INTO outbox (data) VALUES (?)")
	s.outboxRead = p("SELECT seq, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?")
	s.outboxDel = p("DELETE FROM outbox WHERE seq = ?")
	s.outboxDelN = p("DELETE FROM outbox WHERE seq IN (?" + strings.Repeat(",?", outboxDelChunk-1) + ")")
	s.markSet = p("INSERT INTO marks (key, v) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET v = excluded.v")
	s.marks = p("SELECT key, v FROM marks WHERE key >= ? AND key < ?")
	s.markDel = p("DELETE FROM marks WHERE key >= ? AND key < ?")
	s.labelAdd = p("INSERT OR IGNORE INTO labels (lbl, path) VALUES (?, ?)")
	s.labelDel = p("DELETE FROM labels WHERE path = ?")
	s.labelDelTree = p("DELETE FROM labels WHERE path = ? OR (path > ? AND path < ?)")
	// One label: the rows come in path order straight from the primary key.
	s.walkLabel = p("SELECT " + joinCols + " FROM labels l JOIN resources r ON r.path = l.path WHERE l.lbl = ? AND l.path > ? AND l.path < ? ORDER BY l.path")
	return s, err
}

func (s *stmts) all() []*sql.Stmt {
	return []*sql.Stmt{s.get, s.getPath, s.insert, s.update, s.delTree, s.children, s.childrenTy, s.childrenDesc, s.childrenTyDesc, s.walk, s.expired,
		s.walkTy, s.walkSubs, s.outboxAdd, s.outboxRead, s.outboxDel, s.outboxDelN, s.markSet, s.marks, s.markDel,
		s.labelAdd, s.labelDel, s.labelDelTree, s.walkLabel}
}

func (s *stmts) close() {
	for _, st := range s.all() {
		if st != nil {
			st.Close()
		}
	}
}

// begin, commit and rollback run the writer's transaction. BEGIN IMMEDIATE
// takes the write lock at once (there is one writer, so it never waits).
func (s *stmts) begin() error { return s.exec("BEGIN IMMEDIATE") }
func (s *stmts) commit() error {
	err := s.exec("COMMIT")
	if err != nil {
		s.rollback() // a failed COMMIT may leave the transaction open
	}
	return err
}

// rollback ends the transaction, if SQLite has not ended it by itself.
func (s *stmts) rollback() { _ = s.exec("ROLLBACK") }

func (s *stmts) exec(q string) error {
	_, err := s.conn.ExecContext(context.Background(), q)
	return err
}

type tx struct {
	ctx      context.Context
	st       *stmts
	readOnly bool
	cache    *cache
	tail     *outboxTail
	// op and batch are the writer's overlays: this caller's writes and the
	// writes of the callers before it in the same commit.
	op, batch *overlay
	// wrote: a statement of this caller changed the database. fatal: a
	// statement failed in a way that may have ended the whole transaction.
	wrote bool
	fatal error
}

// sqlErr records a failed statement of the writer: anything but a constraint
// violation (which SQLite undoes by itself, statement by statement) may have
// rolled back the whole transaction.
func (t *tx) sqlErr(err error) error {
	if err != nil && !t.readOnly && !errors.Is(err, store.ErrNotFound) && !isConstraint(err) && t.fatal == nil {
		t.fatal = err
	}
	return err
}

// fromOverlay looks ri (or path) up in the writer's overlays.
func (t *tx) fromOverlay(ri, path string) (*resource.Resource, bool) {
	if t.readOnly {
		return nil, false
	}
	for _, o := range []*overlay{t.op, t.batch} {
		var r *resource.Resource
		var ok bool
		if ri != "" {
			r, ok = o.lookup(ri)
		} else {
			r, ok = o.lookupPath(path)
		}
		if ok {
			return r, true
		}
	}
	return nil, false
}

// fromCache returns a clone of the cached resource, unless the writer has
// deleted the subtree it lies in.
func (t *tx) fromCache(r *resource.Resource) *resource.Resource {
	if r == nil {
		return nil
	}
	if !t.readOnly && (t.op.under(r.Path) || t.batch.under(r.Path)) {
		return nil
	}
	return r.Clone()
}

func (t *tx) lookup(ri, path string, row func() *sql.Row) (*resource.Resource, error) {
	return t.lookupAs(ri, path, row, true)
}

// lookupAs is lookup; without copy, the resource of the overlay or the cache
// is returned itself (Peek). Neither is ever changed in place: the overlay
// and the cache hold copies nobody else has, and are given new resources,
// not changes to the ones they hold.
func (t *tx) lookupAs(ri, path string, row func() *sql.Row, copy bool) (*resource.Resource, error) {
	if r, ok := t.fromOverlay(ri, path); ok {
		if r == nil {
			return nil, store.ErrNotFound
		}
		if !copy {
			return r, nil
		}
		return r.Clone(), nil
	}
	var cached *resource.Resource
	if ri != "" {
		cached = t.cache.get(ri)
	} else {
		cached = t.cache.getPath(path)
	}
	if cached != nil && !copy {
		if !t.readOnly && (t.op.under(cached.Path) || t.batch.under(cached.Path)) {
			cached = nil // deleted by the writer (see fromCache)
		} else {
			return cached, nil
		}
	}
	if r := t.fromCache(cached); r != nil {
		return r, nil
	}
	gen := t.cache.generation()
	r, err := scan(row())
	t.sqlErr(err)
	if err == nil && t.readOnly {
		t.cache.fill(r, gen)
	}
	return r, err
}

// envelope is what the data column holds: the attributes and the internal
// fields that clients never see.
func encode(r *resource.Resource) ([]byte, error) {
	return envelope.Encode(r)
}

func scan(row interface{ Scan(...any) error }) (*resource.Resource, error) {
	var (
		r    resource.Resource
		et   sql.NullString
		data []byte
	)
	if err := row.Scan(&r.Seq, &r.RI, &r.PI, &r.Ty, &r.Path, &et, &data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, store.ErrNotFound
		}
		return nil, err
	}
	return decode(r, et, data)
}

func decode(r resource.Resource, et sql.NullString, data []byte) (*resource.Resource, error) {
	if err := envelope.Decode(data, &r); err != nil {
		return nil, fmt.Errorf("sqlite: corrupt resource %s: %w", r.RI, err)
	}
	if et.Valid {
		r.ET, _ = primitive.ParseTime(et.String)
	}
	return &r, nil
}

func etValue(r *resource.Resource) any {
	if r.ET.IsZero() {
		return nil
	}
	return primitive.FormatTime(r.ET)
}

func (t *tx) Get(ri string) (*resource.Resource, error) {
	return t.lookup(ri, "", func() *sql.Row { return t.st.get.QueryRowContext(t.ctx, ri) })
}

// Peek implements store.Peeker.
func (t *tx) Peek(ri string) (*resource.Resource, error) {
	return t.lookupAs(ri, "", func() *sql.Row { return t.st.get.QueryRowContext(t.ctx, ri) }, false)
}

func (t *tx) GetByPath(path string) (*resource.Resource, error) {
	return t.lookup("", path, func() *sql.Row { return t.st.getPath.QueryRowContext(t.ctx, path) })
}

// rows turns result rows into resources, taking each from the overlay or the
// cache when it is there, so that only misses are decoded.
func (t *tx) rows(rows *sql.Rows, fn func(*resource.Resource) bool) error {
	return t.sqlErr(t.rowsInner(rows, fn))
}

func (t *tx) rowsInner(rows *sql.Rows, fn func(*resource.Resource) bool) error {
	defer rows.Close()
	gen := t.cache.generation()
	var (
		raw  resource.Resource
		et   sql.NullString
		data []byte
	)
	for rows.Next() {
		if err := rows.Scan(&raw.Seq, &raw.RI, &raw.PI, &raw.Ty, &raw.Path, &et, &data); err != nil {
			return err
		}
		var r *resource.Resource
		if o, ok := t.fromOverlay(raw.RI, ""); ok {
			if o == nil {
				continue
			}
			r = o.Clone()
		} else if c := t.fromCache(t.cache.get(raw.RI)); c != nil {
			r = c
		} else {
			var err error
			if r, err = decode(raw, et, data); err != nil {
				return err
			}
			if t.readOnly {
				t.cache.fill(r, gen)
			}
		}
		if !fn(r) {
			return nil
		}
	}
	return rows.Err()
}

func isConstraint(err error) bool {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3lib.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3lib.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code()&0xff == sqlite3lib.SQLITE_CONSTRAINT
	}
	return false
}

func (t *tx) Create(r *resource.Resource) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	data, err := encode(r)
	if err != nil {
		return err
	}
	res, err := t.st.insert.ExecContext(t.ctx, r.RI, r.PI, r.Ty, r.Path, etValue(r), data)
	if err != nil {
		if isConstraint(err) {
			return store.ErrExists
		}
		return t.sqlErr(err)
	}
	t.wrote = true
	if r.Seq, err = res.LastInsertId(); err != nil {
		return t.sqlErr(err)
	}
	if err := addLabels(t.ctx, t.st, r); err != nil {
		return t.sqlErr(err)
	}
	t.op.create(r.Clone())
	return nil
}

// addLabels indexes the labels of r (see the labels table).
func addLabels(ctx context.Context, st *stmts, r *resource.Resource) error {
	for _, l := range r.Strings("lbl") {
		if _, err := st.labelAdd.ExecContext(ctx, l, r.Path); err != nil {
			return err
		}
	}
	return nil
}

// Put replaces a stored resource. The row is written when the group commits
// (flushPuts), not now: a container that every new contentInstance updates is
// then written once per commit instead of once per instance. Reads in the
// transaction see the new state through the overlay meanwhile.
func (t *tx) Put(r *resource.Resource) error {
	return t.PutOwned(r.Clone())
}

// PutOwned implements store.OwnedPutter: Put without the copy, for a caller
// that hands r over (the overlay, then the cache, keep r itself).
func (t *tx) PutOwned(r *resource.Resource) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if err := t.exists(r.RI); err != nil {
		return err
	}
	t.op.put(r)
	return nil
}

// exists reports ErrNotFound unless ri is stored (as this transaction sees it),
// without copying the resource.
func (t *tx) exists(ri string) error {
	if r, ok := t.fromOverlay(ri, ""); ok {
		if r == nil {
			return store.ErrNotFound
		}
		return nil
	}
	if c := t.cache.get(ri); c != nil && !t.op.under(c.Path) && !t.batch.under(c.Path) {
		return nil
	}
	_, err := t.lookup(ri, "", func() *sql.Row { return t.st.get.QueryRowContext(t.ctx, ri) })
	return err
}

// flushPuts writes the rows that Put deferred, each once in its final state.
func flushPuts(st *stmts, o *overlay, committed *cache) error {
	for ri, r := range o.puts {
		data, err := encode(r)
		if err != nil {
			return err
		}
		// A row deleted with its parent meanwhile simply matches nothing.
		res, err := st.update.ExecContext(context.Background(), etValue(r), data, ri)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		// Index the labels anew unless they are those of the committed row,
		// which the cache still holds until this group commits: a container
		// that every new instance updates costs no statement here.
		lbl := r.Strings("lbl")
		if old := committed.get(ri); old != nil && slices.Equal(old.Strings("lbl"), lbl) {
			continue
		}
		if _, err := st.labelDel.ExecContext(context.Background(), r.Path); err != nil {
			return err
		}
		for _, l := range lbl {
			if _, err := st.labelAdd.ExecContext(context.Background(), l, r.Path); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *tx) DeleteTree(r *resource.Resource) (int, error) {
	if t.readOnly {
		return 0, store.ErrReadOnly
	}
	// Descendants' paths sort between "path/" and "path0" ('0' follows '/').
	res, err := t.st.delTree.ExecContext(t.ctx, r.Path, r.Path+"/", r.Path+"0")
	if err != nil {
		return 0, t.sqlErr(err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, store.ErrNotFound
	}
	t.wrote = true
	if _, err := t.st.labelDelTree.ExecContext(t.ctx, r.Path, r.Path+"/", r.Path+"0"); err != nil {
		return 0, t.sqlErr(err)
	}
	t.op.del(r.RI, r.Path)
	if n > 1 {
		t.op.delTree(r.Path) // only a resource with descendants costs a subtree sweep
	}
	return int(n), nil
}

func (t *tx) Children(pi string, q store.ChildQuery) ([]*resource.Resource, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	var out []*resource.Resource
	query := func(rows *sql.Rows, err error) error {
		if err != nil {
			return t.sqlErr(err)
		}
		return t.rows(rows, func(r *resource.Resource) bool {
			out = append(out, r)
			return true
		})
	}
	children, childrenTy := t.st.children, t.st.childrenTy
	if q.Newest {
		children, childrenTy = t.st.childrenDesc, t.st.childrenTyDesc
	}
	if len(q.Types) == 1 {
		// The newest child of one type is the la of a container: answered from
		// the cache when it knows it.
		latest := q.Newest && q.Limit == 1 && q.Offset == 0 && t.readOnly
		if latest {
			if r := t.cache.newest(pi, q.Types[0]); r != nil {
				return []*resource.Resource{r.Clone()}, nil
			}
		}
		gen := t.cache.generation()
		err := query(childrenTy.QueryContext(t.ctx, pi, q.Types[0], limit, q.Offset))
		if latest && err == nil && len(out) == 1 {
			t.cache.fillNewest(out[0], gen)
		}
		return out, err
	}
	if len(q.Types) == 0 {
		err := query(children.QueryContext(t.ctx, pi, limit, q.Offset))
		return out, err
	}
	// Several types: an IN list, which the (pi, seq) index serves in order.
	var b strings.Builder
	b.WriteString("SELECT " + cols + " FROM resources WHERE pi = ? AND ty IN (")
	args := []any{pi}
	for i, ty := range q.Types {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('?')
		args = append(args, ty)
	}
	b.WriteString(") ORDER BY seq")
	if q.Newest {
		b.WriteString(" DESC")
	}
	b.WriteString(" LIMIT ? OFFSET ?")
	args = append(args, limit, q.Offset)
	err := query(t.st.q.QueryContext(t.ctx, b.String(), args...))
	return out, err
}

func (t *tx) Walk(path string, types []int, fn func(*resource.Resource) bool) error {
	var rows *sql.Rows
	var err error
	// One type is filtered by SQLite, so that the rows of other types are
	// neither decoded nor (for subscriptions, through their partial index)
	// even visited.
	switch {
	case len(types) == 1 && types[0] == resource.TySubscription:
		rows, err = t.st.walkSubs.QueryContext(t.ctx, path+"/", path+"0")
	case len(types) == 1:
		rows, err = t.st.walkTy.QueryContext(t.ctx, path+"/", path+"0", types[0])
	default:
		rows, err = t.st.walk.QueryContext(t.ctx, path+"/", path+"0")
	}
	if err != nil {
		return t.sqlErr(err)
	}
	return t.rows(rows, func(r *resource.Resource) bool {
		if len(types) > 0 {
			ok := false
			for _, ty := range types {
				ok = ok || r.Ty == ty
			}
			if !ok {
				return true
			}
		}
		return fn(r)
	})
}

func (t *tx) WalkLabeled(path string, labels []string, types []int, fn func(*resource.Resource) bool) error {
	ls := store.NewLabels(labels)
	uniq, labelled := ls.Distinct, ls.Match
	if len(uniq) == 0 {
		return nil
	}
	if !t.readOnly {
		// In the writer the Puts of this group are not in the labels table
		// until it commits (flushPuts): read the subtree instead.
		return t.Walk(path, types, func(r *resource.Resource) bool {
			return !labelled(r) || fn(r)
		})
	}
	var rows *sql.Rows
	var err error
	if len(uniq) == 1 {
		rows, err = t.st.walkLabel.QueryContext(t.ctx, uniq[0], path+"/", path+"0")
	} else {
		// Several labels: each resource once, in path order (SQLite sorts
		// the paths the labels give).
		args := make([]any, 0, len(uniq)+2)
		for _, l := range uniq {
			args = append(args, l)
		}
		args = append(args, path+"/", path+"0")
		rows, err = t.st.q.QueryContext(t.ctx, "SELECT "+cols+" FROM resources WHERE path IN (SELECT path FROM labels WHERE lbl IN (?"+
			strings.Repeat(",?", len(uniq)-1)+") AND path > ? AND path < ?) ORDER BY path", args...)
	}
	if err != nil {
		return t.sqlErr(err)
	}
	return t.rows(rows, func(r *resource.Resource) bool {
		if len(types) > 0 && !slices.Contains(types, r.Ty) {
			return true
		}
		// The cached copy may be newer than the row the index gave.
		if !labelled(r) {
			return true
		}
		return fn(r)
	})
}

func (t *tx) Expired(now time.Time, limit int) ([]*resource.Resource, error) {
	rows, err := t.st.expired.QueryContext(t.ctx, primitive.FormatTime(now), limit)
	if err != nil {
		return nil, t.sqlErr(err)
	}
	var out []*resource.Resource
	err = t.rows(rows, func(r *resource.Resource) bool {
		out = append(out, r)
		return true
	})
	return out, err
}

func (t *tx) AppendOutbox(data []byte) (int64, error) {
	if t.readOnly {
		return 0, store.ErrReadOnly
	}
	res, err := t.st.outboxAdd.ExecContext(t.ctx, data)
	if err != nil {
		return 0, t.sqlErr(err)
	}
	t.wrote = true
	n, err := res.LastInsertId()
	if err != nil {
		return 0, t.sqlErr(err)
	}
	t.op.outAdd = append(t.op.outAdd, store.OutboxEntry{Seq: n, Data: slices.Clone(data)})
	return n, nil
}

func (t *tx) Outbox(after int64, limit int) ([]store.OutboxEntry, error) {
	if t.readOnly && t.tail != nil {
		if out, ok := t.tail.read(after, limit); ok {
			return out, nil
		}
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := t.st.outboxRead.QueryContext(t.ctx, after, limit)
	if err != nil {
		return nil, t.sqlErr(err)
	}
	defer rows.Close()
	var out []store.OutboxEntry
	for rows.Next() {
		var e store.OutboxEntry
		if err := rows.Scan(&e.Seq, &e.Data); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// outboxDelChunk is how many entries one prepared DELETE removes: the
// notification service deletes what it delivered in bulk.
const outboxDelChunk = 64

func (t *tx) DeleteOutbox(seqs []int64) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	t.op.outDel = append(t.op.outDel, seqs...)
	args := make([]any, outboxDelChunk)
	for len(seqs) >= outboxDelChunk {
		for i, s := range seqs[:outboxDelChunk] {
			args[i] = s
		}
		if _, err := t.st.outboxDelN.ExecContext(t.ctx, args...); err != nil {
			return t.sqlErr(err)
		}
		t.wrote = true
		seqs = seqs[outboxDelChunk:]
	}
	for _, s := range seqs {
		if _, err := t.st.outboxDel.ExecContext(t.ctx, s); err != nil {
			return t.sqlErr(err)
		}
		t.wrote = true
	}
	return nil
}

// prefixRange returns the keys [lo, hi) that start with prefix: no UTF-8
// string holds the byte 0xff.
func prefixRange(prefix string) (string, string) { return prefix, prefix + "\xff" }

func (t *tx) SetMark(key string, v int64) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	if _, err := t.st.markSet.ExecContext(t.ctx, key, v); err != nil {
		return t.sqlErr(err)
	}
	t.wrote = true
	return nil
}

func (t *tx) Marks(prefix string) (map[string]int64, error) {
	lo, hi := prefixRange(prefix)
	rows, err := t.st.marks.QueryContext(t.ctx, lo, hi)
	if err != nil {
		return nil, t.sqlErr(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

func (t *tx) DeleteMarks(prefix string) error {
	if t.readOnly {
		return store.ErrReadOnly
	}
	lo, hi := prefixRange(prefix)
	if _, err := t.st.markDel.ExecContext(t.ctx, lo, hi); err != nil {
		return t.sqlErr(err)
	}
	t.wrote = true
	return nil
}
