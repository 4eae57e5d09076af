package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Several onecse nodes on one database (see docs/scale-out.md):
//
//   - Every commit that changes what other nodes keep in memory sends a
//     PostgreSQL notification, in the same transaction (so it is delivered
//     if and only if the change is committed): EventOutbox when it appended to
//     the outbox (the leader's notification service reads it at once instead
//     of at its next poll), EventRoutes when it created, replaced or deleted a
//     <remoteCSE> (every node rebuilds its routing table). Listen receives
//     them.
//   - Lead elects one node, through a session advisory lock, to run what
//     must run once: the notification service (which owns the outbox and its
//     marks) and expiry.

// Events a commit announces to every node.
const (
	EventOutbox = "outbox"
	EventRoutes = "routes"
)

// channel is the notification channel of this store's schema.
func (s *Store) channel() string {
	return fmt.Sprintf("onecse_%x", uint64(lockKey("events", s.schema)))
}

// Listen calls fn with each event committed by any node (this one included)
// until ctx ends. When its connection fails it connects again and calls fn
// with every event kind once, since some may have been missed meanwhile.
func (s *Store) Listen(ctx context.Context, fn func(event string)) error {
	first := true
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, fn, !first)
		first = false
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("postgres: listening for other nodes' changes; connecting again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, fn func(string), missed bool) error {
	c, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel()}.Sanitize()); err != nil {
		return err
	}
	if missed {
		fn(EventOutbox)
		fn(EventRoutes)
	}
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}

// ErrLeadershipLost is returned by Lead when the connection that held the
// leadership failed while this node led: another node may lead now, so this
// one must stop doing what only the leader does.
var ErrLeadershipLost = errors.New("postgres: lost the leadership lock")

// Lead waits until this node holds the leadership named name, then runs
// lead with a context that ends when ctx ends or the leadership is lost, and
// returns when lead returns: nil after ctx ended, ErrLeadershipLost when the
// lock's connection failed. The lock is a session advisory lock on a
// connection of its own, so a node that dies (or whose connection dies)
// releases it, and another node's Lead, which tries every second, takes over.
func (s *Store) Lead(ctx context.Context, name string, lead func(ctx context.Context)) error {
	key := lockKey("lead/"+name, s.schema)
	var c *pgx.Conn
	defer func() {
		if c != nil {
			c.Close(context.Background())
		}
	}()
	for {
		if c == nil || c.IsClosed() {
			var err error
			if c, err = pgx.ConnectConfig(ctx, s.connCfg); err != nil {
				c = nil
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("postgres: leadership connection", "err", err)
			}
		}
		if c != nil {
			var got bool
			if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("postgres: leadership lock", "err", err)
				c.Close(context.Background())
				c = nil
			} else if got {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	s.log.Info("postgres: this node leads", "name", name)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); lead(lctx) }()
	lost := false
	t := time.NewTicker(time.Second)
	defer t.Stop()
watch:
	for {
		select {
		case <-ctx.Done():
			break watch
		case <-done:
			break watch
		case <-t.C:
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Ping(pctx)
			pcancel()
			if err != nil && ctx.Err() == nil {
				lost = true
				break watch
			}
		}
	}
	cancel()
	<-done
	if lost {
		return ErrLeadershipLost
	}
	c.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key)
	return nil
}
