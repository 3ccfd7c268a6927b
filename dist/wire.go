package dist

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// ProtocolVersion is the version every connection announces after the
// magic bytes; processes with different versions never form a group.
const ProtocolVersion = 1

// magic opens every connection, so rank 0 can tell a glmc process from
// anything else that reaches its port.
const magic = "glmcdist"

// Frame kinds. A frame is kind (1 byte), sequence number (4 bytes, little
// endian), payload length (4 bytes, little endian) and the payload.
const (
	kindHello     byte = 1 // JSON hello, joining rank → rank 0
	kindTable     byte = 2 // JSON peer table, rank 0 → joining rank
	kindReject    byte = 3 // one-line reason, rank 0 → joining rank
	kindLink      byte = 4 // JSON link hello, rank r → rank r+1
	kindAllReduce byte = 5 // float32 payload of an all-reduce
	kindBroadcast byte = 6 // float32 payload of a broadcast
	kindBarrier   byte = 7 // empty payload of a barrier
	kindAbort     byte = 8 // why the group failed, rank r → rank r+1
	kindWaiting   byte = 9 // empty: rank r is alive, waiting for rank r−1
)

var kindNames = map[byte]string{
	kindHello: "hello", kindTable: "peer table", kindReject: "rejection", kindLink: "link hello",
	kindAllReduce: "all-reduce", kindBroadcast: "broadcast", kindBarrier: "barrier", kindAbort: "abort",
	kindWaiting: "waiting",
}

const (
	headerSize = 9
	// maxPiece is the largest float32 payload of one frame: gloo's 1 MiB
	// segment, small enough that a reduction of one piece overlaps with
	// the transfer of the next.
	maxPiece = 1 << 18
	// maxFrame bounds any payload read, so a stranger cannot make a rank
	// allocate without limit.
	maxFrame = 4 * maxPiece
)

// writePreface announces magic and protocol version.
func writePreface(c net.Conn, deadline time.Time) error {
	var b [len(magic) + 4]byte
	copy(b[:], magic)
	binary.LittleEndian.PutUint32(b[len(magic):], ProtocolVersion)
	c.SetWriteDeadline(deadline)
	_, err := c.Write(b[:])
	return err
}

// errStranger marks a connection that does not start with the magic bytes.
var errStranger = errors.New("not a glmc process (no magic bytes)")

// readPreface reads magic and version, failing on a stranger or another
// protocol version.
func readPreface(c net.Conn, deadline time.Time) error {
	var b [len(magic) + 4]byte
	c.SetReadDeadline(deadline)
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return err
	}
	if string(b[:len(magic)]) != magic {
		return errStranger
	}
	if v := binary.LittleEndian.Uint32(b[len(magic):]); v != ProtocolVersion {
		return fmt.Errorf("speaks protocol version %d, not %d", v, ProtocolVersion)
	}
	return nil
}

// writeFrame sends one frame whose payload is already in buf[headerSize:].
func writeFrame(c net.Conn, buf []byte, kind byte, seq uint32, deadline time.Time) error {
	buf[0] = kind
	binary.LittleEndian.PutUint32(buf[1:], seq)
	binary.LittleEndian.PutUint32(buf[5:], uint32(len(buf)-headerSize))
	c.SetWriteDeadline(deadline)
	_, err := c.Write(buf)
	return err
}

// writeMessage sends a control frame with the given payload.
func writeMessage(c net.Conn, kind byte, payload []byte, deadline time.Time) error {
	buf := make([]byte, headerSize+len(payload))
	copy(buf[headerSize:], payload)
	return writeFrame(c, buf, kind, 0, deadline)
}

// readHeader reads a frame header and returns kind, sequence number and
// payload length.
func readHeader(c net.Conn, deadline time.Time) (byte, uint32, int, error) {
	var h [headerSize]byte
	c.SetReadDeadline(deadline)
	if got, err := io.ReadFull(c, h[:]); err != nil {
		if got > 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			// Not a plain timeout: the stream is out of step.
			return 0, 0, 0, fmt.Errorf("frame header cut short: %v", err)
		}
		return 0, 0, 0, err
	}
	n := binary.LittleEndian.Uint32(h[5:])
	if n > maxFrame {
		return 0, 0, 0, fmt.Errorf("frame of %d bytes exceeds the %d-byte limit", n, maxFrame)
	}
	return h[0], binary.LittleEndian.Uint32(h[1:]), int(n), nil
}

// readMessage reads a control frame; a rejection comes back as an error
// holding the peer's reason.
func readMessage(c net.Conn, want byte, deadline time.Time) ([]byte, error) {
	kind, _, n, err := readHeader(c, deadline)
	if err != nil {
		return nil, err
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c, payload); err != nil {
		return nil, err
	}
	switch kind {
	case want:
		return payload, nil
	case kindReject:
		return nil, &rejectError{string(payload)}
	}
	return nil, fmt.Errorf("sent a %s where a %s was expected", kindNames[kind], kindNames[want])
}

// rejectError is rank 0's reason for turning a process away, reported as
// rank 0 wrote it.
type rejectError struct{ reason string }

func (e *rejectError) Error() string { return e.reason }

// describe turns a network error into the short phrase error messages use.
func describe(err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by peer"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no progress within the %v timeout", timeout)
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EPIPE):
		return "connection closed by peer (broken pipe)"
	}
	return err.Error()
}

// keepAlive makes the kernel probe idle links, so a peer whose host died
// is noticed even between collectives (15 s idle, then 4 probes 5 s apart).
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 4}

func tune(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetKeepAliveConfig(keepAlive)
	}
}
