package tlspsk

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Record layer limits (RFC 5246 6.2).
const (
	recordHeaderLen = 5
	maxPlaintext    = 1 << 14
	maxCiphertext   = maxPlaintext + 2048
	// maxHandshake bounds one handshake message. The largest a PSK
	// handshake meets is a client's ClientHello, and even a TLS 1.3 one with
	// a post-quantum key share is under 2 KiB.
	maxHandshake = 1 << 16
	// maxUselessRecords bounds records in a row that carry nothing
	// (empty application data, warning alerts, refused renegotiations),
	// so a peer cannot keep a reader busy for free.
	maxUselessRecords = 16
	// writeFlushSize is how much Write encrypts before handing it to the
	// network: several records per system call, bounded memory.
	writeFlushSize = 64 << 10
	// The read buffer starts at initialReadBuf, enough for a handshake,
	// and grows up to readBufSize, two whole records, so that bulk reads
	// fetch more than one record per system call.
	initialReadBuf = 4 << 10
	readBufSize    = 2 * (recordHeaderLen + maxCiphertext)
)

type recordType uint8

const (
	recordChangeCipherSpec recordType = 20
	recordAlert            recordType = 21
	recordHandshake        recordType = 22
	recordApplicationData  recordType = 23
)

// State describes a connection once its handshake is complete.
type State struct {
	HandshakeComplete bool
	Version           uint16 // 0x0303: TLS 1.2, the only version spoken
	CipherSuite       uint16
	// Identity is the PSK identity the client used (on a server: the one
	// GetKey accepted; on a client: its own Config.Identity).
	Identity string
	// IdentityHint is the hint the server sent ("" if none).
	IdentityHint string
	// ServerName is the SNI host name the client sent ("" if none).
	ServerName           string
	ExtendedMasterSecret bool // RFC 7627 in use
	EncryptThenMAC       bool // RFC 7366 in use (CBC suite only)
	SecureRenegotiation  bool // the peer signalled RFC 5746 support
}

// halfConn is one direction of the record layer.
type halfConn struct {
	sync.Mutex
	err  error            // permanent error; reads/writes fail with it
	seq  [8]byte          // sequence number of the next record
	prot recordProtection // nil: plaintext (before ChangeCipherSpec)
	next recordProtection // prepared, switched on by ChangeCipherSpec
}

func (hc *halfConn) incSeq() error {
	for i := 7; i >= 0; i-- {
		hc.seq[i]++
		if hc.seq[i] != 0 {
			return nil
		}
	}
	// RFC 5246 6.1: sequence numbers must not wrap; without renegotiation
	// the connection has to end (after 2^64 records).
	return fail(AlertInternalError, "record sequence number exhausted")
}

func (hc *halfConn) changeCipherSpec() bool {
	if hc.next == nil {
		return false
	}
	hc.prot, hc.next = hc.next, nil
	hc.seq = [8]byte{}
	return true
}

// Conn is a TLS 1.2 PSK connection. It implements net.Conn. Read and Write
// may be called concurrently (one reader and one writer); the first of them
// runs the handshake if Handshake was not called.
type Conn struct {
	conn     net.Conn
	isClient bool
	config   *Config

	handshakeMu   sync.Mutex // held while handshaking
	handshakeErr  error
	handshakeDone atomic.Bool
	state         State
	masterSecret  []byte
	clientRandom  []byte
	serverRandom  []byte
	transcript    hash.Hash
	haveVers      bool // the version is settled: records must carry 0x0303

	// Input, guarded by in.
	in      halfConn
	rbuf    []byte // raw bytes from conn: rbuf[rstart:rend] not yet parsed
	rstart  int
	rend    int
	input   []byte // decrypted application data not yet returned (aliases rbuf)
	hand    []byte // handshake bytes not yet parsed
	useless int    // consecutive records that carried nothing
	// Diagnostics: the last warning alert received, and whether the peer
	// sent close_notify (a bare TCP close also reads as io.EOF).
	lastWarning         Alert
	closeNotifyReceived bool

	// Output, guarded by out.
	out             halfConn
	outBuf          []byte // records built but not yet written
	closeNotifySent bool
	closeNotifyErr  error

	// activeCall counts Writes in progress (times 2) and has bit 0 set once
	// Close was called, so Close can avoid blocking on a stuck Write.
	activeCall atomic.Int32
}

// Server returns a server-side connection over c. The handshake runs on the
// first Read, Write or Handshake.
func Server(c net.Conn, config *Config) *Conn {
	return &Conn{conn: c, config: config}
}

// Client returns a client-side connection over c. The handshake runs on the
// first Read, Write or Handshake.
func Client(c net.Conn, config *Config) *Conn {
	return &Conn{conn: c, config: config, isClient: true}
}

// errShutdown is returned by Write after CloseWrite.
var errShutdown = errors.New("tlspsk: write after CloseWrite")

// LocalAddr, RemoteAddr and the deadlines are those of the underlying
// connection. A Read that times out can be retried (a partial record stays
// buffered); a Write that times out leaves the output in an unknown state,
// and every later Write fails.
func (c *Conn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying connection. Reading or writing it directly
// corrupts the TLS session.
func (c *Conn) NetConn() net.Conn { return c.conn }

// ConnectionState returns the negotiated parameters. It waits for a
// handshake in progress; before any handshake it returns the zero State.
func (c *Conn) ConnectionState() State {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	return c.state
}

// Handshake runs the handshake if it has not run yet, bounded by
// Config.HandshakeTimeout.
func (c *Conn) Handshake() error {
	return c.HandshakeContext(context.Background())
}

// HandshakeContext runs the handshake if it has not run yet. If ctx ends
// first the underlying connection is closed and ctx's error returned.
// Config.HandshakeTimeout applies as well.
func (c *Conn) HandshakeContext(ctx context.Context) (err error) {
	if c.handshakeDone.Load() {
		return nil
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeErr != nil {
		return c.handshakeErr
	}
	if c.handshakeDone.Load() {
		return nil
	}
	if c.config != nil && c.config.HandshakeTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.config.HandshakeTimeout)
		defer cancel()
	}
	if ctx.Done() != nil {
		// Closing the connection is the one way to interrupt a blocked
		// read or write without touching the caller's deadlines.
		done := make(chan struct{})
		interrupted := make(chan error, 1)
		defer func() {
			close(done)
			if ctxErr := <-interrupted; ctxErr != nil {
				err = fmt.Errorf("tlspsk: handshake: %w", ctxErr)
				c.handshakeErr = err
			}
		}()
		go func() {
			select {
			case <-ctx.Done():
				c.conn.Close()
				interrupted <- ctx.Err()
			case <-done:
				interrupted <- nil
			}
		}()
	}

	c.in.Lock()
	defer c.in.Unlock()
	c.transcript = sha256.New()
	if c.isClient {
		err = c.clientHandshake()
	} else {
		err = c.serverHandshake()
	}
	c.transcript = nil
	if err != nil {
		err = c.abort(err)
		c.handshakeErr = err
		return err
	}
	c.state.HandshakeComplete = true
	c.handshakeDone.Store(true)
	return nil
}

// abort ends the input side with err, sending the alert first when err is
// a local alert (and no fatal alert went out yet). The caller holds in.
func (c *Conn) abort(err error) error {
	var ae *AlertError
	if errors.As(err, &ae) && !ae.Received {
		c.sendAlert(ae.Alert)
	}
	if c.in.err == nil {
		c.in.err = err
	}
	return err
}

// fill reads from the network until at least n unparsed bytes are
// buffered. It is only called when c.input is empty, so moving or
// reallocating the buffer cannot disturb undelivered application data. The
// buffer starts small (an idle connection costs little) and grows to two
// whole records for bulk transfers.
func (c *Conn) fill(n int) error {
	if c.rend-c.rstart >= n {
		return nil
	}
	switch {
	case c.rbuf == nil:
		c.rbuf = make([]byte, max(n, initialReadBuf))
	case n > len(c.rbuf):
		nb := make([]byte, min(readBufSize, max(n, 2*len(c.rbuf))))
		c.rend = copy(nb, c.rbuf[c.rstart:c.rend])
		c.rstart = 0
		c.rbuf = nb
	case c.rstart+n > len(c.rbuf) || c.rstart == c.rend:
		c.rend = copy(c.rbuf, c.rbuf[c.rstart:c.rend])
		c.rstart = 0
	}
	for zero := 0; c.rend-c.rstart < n; {
		m, err := c.conn.Read(c.rbuf[c.rend:])
		c.rend += m
		if c.rend-c.rstart >= n {
			return nil
		}
		if err != nil {
			if err == io.EOF {
				if c.rend > c.rstart {
					return io.ErrUnexpectedEOF
				}
				// A clean end at a record boundary without close_notify: as
				// crypto/tls does, report it as io.EOF (the protocols on top
				// frame their own messages).
				return io.EOF
			}
			return err
		}
		if m == 0 {
			if zero++; zero > 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// readErr records a network error as permanent unless it is a timeout,
// after which reading may resume.
func (c *Conn) readErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	c.in.err = err
	return err
}

// countUseless notes a record that carried nothing.
func (c *Conn) countUseless() error {
	c.useless++
	if c.useless > maxUselessRecords {
		return c.abort(fail(AlertUnexpectedMessage, "too many empty or ignored records"))
	}
	return nil
}

// readRecord reads and processes one record; want is the content the
// caller waits for (handshake, change_cipher_spec, or application data once
// the handshake is done). Alerts are handled here whatever is wanted. The
// caller holds in. A nil error does not mean the wanted content arrived
// (a warning alert or an empty record may have been consumed): callers loop.
func (c *Conn) readRecord(want recordType) error {
	if c.in.err != nil {
		return c.in.err
	}
	if err := c.fill(recordHeaderLen); err != nil {
		return c.readErr(err)
	}
	hdr := c.rbuf[c.rstart : c.rstart+recordHeaderLen]
	typ := recordType(hdr[0])
	vers := uint16(hdr[1])<<8 | uint16(hdr[2])
	n := int(hdr[3])<<8 | int(hdr[4])
	if c.haveVers {
		if vers != versionTLS12 {
			return c.abort(fail(AlertProtocolVersion, "record version %#04x after TLS 1.2 was agreed", vers))
		}
	} else if vers>>8 != 3 {
		// Not TLS (an SSLv2 hello, plain HTTP, ...). The first ClientHello
		// may carry any 3.x record version (OpenSSL sends 0x0301).
		return c.abort(fail(AlertProtocolVersion, "not a TLS record (version bytes %#04x)", vers))
	}
	if n > maxCiphertext || (c.in.prot == nil && n > maxPlaintext) {
		return c.abort(fail(AlertRecordOverflow, "record of %d bytes", n))
	}
	if err := c.fill(recordHeaderLen + n); err != nil {
		return c.readErr(err)
	}
	rec := c.rbuf[c.rstart : c.rstart+recordHeaderLen+n]
	c.rstart += recordHeaderLen + n
	data := rec[recordHeaderLen:]
	if c.in.prot != nil {
		pt, err := c.in.prot.open(c.in.seq[:], rec[:recordHeaderLen], data)
		if err != nil {
			return c.abort(err)
		}
		data = pt
	}
	if err := c.in.incSeq(); err != nil {
		return c.abort(err)
	}
	if len(data) > maxPlaintext {
		return c.abort(fail(AlertRecordOverflow, "record plaintext of %d bytes", len(data)))
	}
	if len(data) == 0 && typ != recordApplicationData {
		// RFC 5246 6.2.1: no empty handshake, alert or CCS fragments.
		return c.abort(fail(AlertUnexpectedMessage, "empty record of type %d", typ))
	}

	switch typ {
	case recordAlert:
		if len(data) != 2 {
			return c.abort(fail(AlertDecodeError, "alert record of %d bytes", len(data)))
		}
		a := Alert(data[1])
		if a == AlertCloseNotify {
			c.closeNotifyReceived = true
			c.in.err = io.EOF
			return io.EOF
		}
		switch data[0] {
		case alertLevelWarning:
			// RFC 5246 7.2: a warning does not end the connection.
			c.lastWarning = a
			return c.countUseless()
		case alertLevelFatal:
			c.in.err = &AlertError{Alert: a, Received: true}
			return c.in.err
		default:
			return c.abort(fail(AlertIllegalParameter, "alert level %d", data[0]))
		}

	case recordChangeCipherSpec:
		if want != recordChangeCipherSpec {
			return c.abort(fail(AlertUnexpectedMessage, "unexpected ChangeCipherSpec"))
		}
		if len(data) != 1 || data[0] != 1 {
			return c.abort(fail(AlertDecodeError, "malformed ChangeCipherSpec"))
		}
		if len(c.hand) > 0 {
			// A handshake message must not straddle a key change.
			return c.abort(fail(AlertUnexpectedMessage, "ChangeCipherSpec inside a handshake message"))
		}
		if !c.in.changeCipherSpec() {
			return c.abort(fail(AlertUnexpectedMessage, "unexpected ChangeCipherSpec"))
		}

	case recordHandshake:
		if want == recordChangeCipherSpec {
			return c.abort(fail(AlertUnexpectedMessage, "handshake message where ChangeCipherSpec was expected"))
		}
		if len(c.hand)+len(data) > maxHandshake+4+maxPlaintext {
			return c.abort(fail(AlertDecodeError, "handshake data beyond %d bytes", maxHandshake))
		}
		c.hand = append(c.hand, data...)

	case recordApplicationData:
		if want != recordApplicationData {
			return c.abort(fail(AlertUnexpectedMessage, "application data before the handshake completed"))
		}
		if len(data) == 0 {
			return c.countUseless()
		}
		c.useless = 0
		c.input = data

	default:
		return c.abort(fail(AlertUnexpectedMessage, "record of unknown type %d", typ))
	}
	return nil
}

// nextHandshake returns the next whole handshake message from c.hand, or
// nil if it is not complete yet.
func (c *Conn) nextHandshake() ([]byte, error) {
	if len(c.hand) < 4 {
		return nil, nil
	}
	n := int(c.hand[1])<<16 | int(c.hand[2])<<8 | int(c.hand[3])
	if n > maxHandshake {
		return nil, c.abort(fail(AlertDecodeError, "handshake message of %d bytes, more than %d", n, maxHandshake))
	}
	if len(c.hand) < 4+n {
		return nil, nil
	}
	msg := make([]byte, 4+n)
	copy(msg, c.hand)
	c.hand = c.hand[:copy(c.hand, c.hand[4+n:])]
	return msg, nil
}

// readHandshake reads the next handshake message during the handshake.
// A client skips HelloRequests, which RFC 5246 7.4.1.1 says to ignore while
// negotiating (they are not part of the transcript).
func (c *Conn) readHandshake() ([]byte, error) {
	for {
		msg, err := c.nextHandshake()
		if err != nil {
			return nil, err
		}
		if msg == nil {
			if err := c.readRecord(recordHandshake); err != nil {
				return nil, err
			}
			continue
		}
		if c.isClient && msg[0] == typeHelloRequest && len(msg) == 4 {
			if err := c.countUseless(); err != nil {
				return nil, err
			}
			continue
		}
		return msg, nil
	}
}

// readChangeCipherSpec waits for the peer's ChangeCipherSpec.
func (c *Conn) readChangeCipherSpec() error {
	for c.in.next != nil {
		if err := c.readRecord(recordChangeCipherSpec); err != nil {
			return err
		}
	}
	return nil
}

// handlePostHandshake deals with handshake messages after the handshake:
// renegotiation requests are refused with a no_renegotiation warning (RFC
// 5246 7.2.2, RFC 5746 4.2 and 4.4), anything else is unexpected. The caller
// holds in.
func (c *Conn) handlePostHandshake() error {
	for {
		msg, err := c.nextHandshake()
		if err != nil || msg == nil {
			return err
		}
		renegotiation := (!c.isClient && msg[0] == typeClientHello) ||
			(c.isClient && msg[0] == typeHelloRequest && len(msg) == 4)
		if !renegotiation {
			return c.abort(fail(AlertUnexpectedMessage, "handshake message of type %d after the handshake", msg[0]))
		}
		if err := c.countUseless(); err != nil {
			return err
		}
		if err := c.sendAlert(AlertNoRenegotiation); err != nil {
			return err
		}
	}
}

// appendRecord protects one fragment and appends the record to outBuf. The
// caller holds out.
func (c *Conn) appendRecord(typ recordType, frag []byte) error {
	vers := versionTLS12
	if !c.haveVers {
		// Until the version is agreed, records carry TLS 1.0 for the sake
		// of old middleboxes, as OpenSSL and crypto/tls do.
		vers = versionTLS10
	}
	hdr := [recordHeaderLen]byte{byte(typ), byte(vers >> 8), byte(vers)}
	start := len(c.outBuf)
	c.outBuf = append(c.outBuf, hdr[:]...)
	if c.out.prot == nil {
		c.outBuf = append(c.outBuf, frag...)
	} else {
		var err error
		hdr[3], hdr[4] = byte(len(frag)>>8), byte(len(frag))
		c.outBuf, err = c.out.prot.seal(c.outBuf, c.out.seq[:], hdr[:], frag, c.config.rand())
		if err != nil {
			c.outBuf = c.outBuf[:start]
			return err
		}
	}
	n := len(c.outBuf) - start - recordHeaderLen
	c.outBuf[start+3], c.outBuf[start+4] = byte(n>>8), byte(n)
	return c.out.incSeq()
}

// writeRecords splits data into records of type typ and appends them.
func (c *Conn) writeRecords(typ recordType, data []byte) error {
	for len(data) > 0 {
		m := min(len(data), maxPlaintext)
		if err := c.appendRecord(typ, data[:m]); err != nil {
			return err
		}
		data = data[m:]
	}
	return nil
}

// flush writes the built records. A failed or partial write leaves the
// peer with a broken record stream, so it ends the output side.
func (c *Conn) flush() error {
	if len(c.outBuf) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.outBuf)
	c.outBuf = c.outBuf[:0]
	if err != nil {
		c.out.err = err
	}
	return err
}

// sendAlertLocked sends an alert; a fatal one ends the output side. The
// caller holds out.
func (c *Conn) sendAlertLocked(a Alert) error {
	if c.out.err != nil {
		return c.out.err
	}
	err := c.appendRecord(recordAlert, []byte{a.level(), byte(a)})
	if err == nil {
		err = c.flush()
	}
	if a.level() == alertLevelFatal && c.out.err == nil {
		c.out.err = &AlertError{Alert: a}
	}
	return err
}

func (c *Conn) sendAlert(a Alert) error {
	c.out.Lock()
	defer c.out.Unlock()
	return c.sendAlertLocked(a)
}

// writeHandshake queues a handshake message and adds it to the transcript;
// flush sends the flight.
func (c *Conn) writeHandshake(msg []byte) error {
	c.transcript.Write(msg)
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return c.out.err
	}
	return c.writeRecords(recordHandshake, msg)
}

// writeChangeCipherSpec queues a ChangeCipherSpec and switches the output
// to the new keys.
func (c *Conn) writeChangeCipherSpec() error {
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return c.out.err
	}
	if err := c.appendRecord(recordChangeCipherSpec, []byte{1}); err != nil {
		return err
	}
	if !c.out.changeCipherSpec() {
		return fail(AlertInternalError, "no keys prepared")
	}
	return nil
}

func (c *Conn) flushHandshake() error {
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return c.out.err
	}
	return c.flush()
}

// Read reads application data, running the handshake first if needed. It
// returns io.EOF after the peer's close_notify (or a clean close at a record
// boundary).
func (c *Conn) Read(b []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(b) == 0 {
		return 0, nil
	}
	c.in.Lock()
	defer c.in.Unlock()
	for len(c.input) == 0 {
		if err := c.readRecord(recordApplicationData); err != nil {
			return 0, err
		}
		if len(c.hand) > 0 {
			if err := c.handlePostHandshake(); err != nil {
				return 0, err
			}
		}
	}
	n := copy(b, c.input)
	c.input = c.input[n:]
	return n, nil
}

// Write writes application data, running the handshake first if needed.
func (c *Conn) Write(b []byte) (int, error) {
	for {
		x := c.activeCall.Load()
		if x&1 != 0 {
			return 0, net.ErrClosed
		}
		if c.activeCall.CompareAndSwap(x, x+2) {
			break
		}
	}
	defer c.activeCall.Add(-2)

	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.out.Lock()
	defer c.out.Unlock()
	if c.out.err != nil {
		return 0, c.out.err
	}
	if c.closeNotifySent {
		return 0, errShutdown
	}
	written := 0
	for len(b) > 0 {
		// Build up to writeFlushSize of records, then write them at once.
		m := min(len(b), writeFlushSize)
		if err := c.writeRecords(recordApplicationData, b[:m]); err != nil {
			c.outBuf = c.outBuf[:0]
			c.out.err = err
			return written, err
		}
		if err := c.flush(); err != nil {
			return written, err
		}
		written += m
		b = b[m:]
	}
	return written, nil
}

// closeNotify sends close_notify once, bounded to 5 s so that a peer that
// does not read cannot block Close forever.
func (c *Conn) closeNotify() error {
	c.out.Lock()
	defer c.out.Unlock()
	if !c.closeNotifySent {
		if c.out.err != nil {
			// The output already ended (a fatal alert or a failed write):
			// nothing more can be sent, and that is not Close's error.
			c.closeNotifySent = true
			return nil
		}
		c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		c.closeNotifyErr = c.sendAlertLocked(AlertCloseNotify)
		c.closeNotifySent = true
		// Any later write fails: the session is closed for writing.
		c.out.err = errShutdown
	}
	return c.closeNotifyErr
}

// CloseWrite sends close_notify and keeps the connection open for reading.
// The underlying connection is not half-closed. It needs a completed
// handshake.
func (c *Conn) CloseWrite() error {
	if !c.handshakeDone.Load() {
		return errors.New("tlspsk: CloseWrite before the handshake completed")
	}
	return c.closeNotify()
}

// Close sends close_notify (after a completed handshake) and closes the
// underlying connection. If a Write is in progress, Close does not wait for
// it: it closes the connection without close_notify, which ends the Write.
func (c *Conn) Close() error {
	var x int32
	for {
		x = c.activeCall.Load()
		if x&1 != 0 {
			return net.ErrClosed
		}
		if c.activeCall.CompareAndSwap(x, x|1) {
			break
		}
	}
	if x != 0 {
		return c.conn.Close()
	}
	var alertErr error
	if c.handshakeDone.Load() {
		if err := c.closeNotify(); err != nil {
			alertErr = fmt.Errorf("tlspsk: sending close_notify (connection closed anyway): %w", err)
		}
	}
	if err := c.conn.Close(); err != nil {
		return err
	}
	return alertErr
}

// ExportKeyingMaterial returns length bytes of keying material for label
// and context (RFC 5705). A nil context is "no context" (the form
// `openssl s_client -keymatexport` and GnuTLS's --keymatexport use); a
// non-nil one, even empty, is included with its length. Labels the TLS key
// schedule uses itself are refused.
func (c *Conn) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if !c.handshakeDone.Load() {
		return nil, errors.New("tlspsk: ExportKeyingMaterial before the handshake completed")
	}
	switch label {
	case labelClientFinish, labelServerFinish, labelMaster, labelKeyExpansion, labelExtMaster:
		return nil, fmt.Errorf("tlspsk: reserved exporter label %q", label)
	}
	if length < 0 || len(context) > 0xffff {
		return nil, errors.New("tlspsk: exporter length or context out of range")
	}
	seed := make([]byte, 0, 2*randomLen+2+len(context))
	seed = append(seed, c.clientRandom...)
	seed = append(seed, c.serverRandom...)
	if context != nil {
		seed = appendVec16(seed, context)
	}
	out := make([]byte, length)
	prf(out, c.masterSecret, label, seed)
	return out, nil
}
