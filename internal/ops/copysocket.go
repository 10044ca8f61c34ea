package ops

// COPY FROM over a socket (lakelink.h, lakelink_copy_from_socket; TYPES.md,
// "COPY sockets"): the caller writes the COPY's data to a stream socket
// as it writes any socket, and the library sends it on to the server, so
// that no call crosses into the library per chunk (from Node's main
// thread a call costs tens of microseconds: see channel.go).

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/lakelink/lakelink/core/lakebase"
)

// The kinds of a COPY socket's frames, as PostgreSQL names its messages.
const (
	copyFrameData = 'd'
	copyFrameDone = 'c'
	copyFrameFail = 'f'
)

// OpenCopyFromSocket starts sql, a COPY ... FROM STDIN, on c, taking its
// data from the caller's end of a stream socket, which it returns (the
// caller owns the descriptor). The outcome, the rows copied or the
// error, is written back to the socket once the COPY has ended.
func OpenCopyFromSocket(c *lakebase.Conn, sql string) (fd int, err error) {
	ours, theirs, err := socketFor("a COPY")
	if err != nil {
		return -1, err
	}
	go serveCopyFrom(ours, c, sql)
	return theirs, nil
}

// serveCopyFrom runs the COPY with the data read from conn, writes its
// outcome, and reads what else comes until the caller closes its end, so
// that the caller's writes never fail while it has not read the outcome.
func serveCopyFrom(conn net.Conn, c *lakebase.Conn, sql string) {
	defer conn.Close()
	status, body := func() (status Code, body []byte) {
		defer recovered(&status, &body)
		n, err := c.CopyFrom(context.Background(), sql, newCopyFrameReader(conn))
		if err != nil {
			return failure(err, Database)
		}
		return OK, binary.LittleEndian.AppendUint64(nil, uint64(n))
	}()
	head := binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))
	head = binary.LittleEndian.AppendUint32(head, uint32(int32(status)))
	bufs := net.Buffers{head, body}
	if _, err := bufs.WriteTo(conn); err != nil {
		return
	}
	io.Copy(io.Discard, conn)
}

// copyFrameReader reads a COPY's data from the caller's frames: io.EOF at
// its done frame, its reason at a fail frame, an error when the socket
// ends before either. A read takes as many frames as it has room for and
// the socket has delivered, so that the server gets full messages
// whatever size the caller's frames are.
type copyFrameReader struct {
	r    *bufio.Reader
	left uint32 // bytes of the current data frame not read yet
	end  error  // io.EOF, the fail frame's reason, or the socket's end: what every read returns once the data before it is read
}

func newCopyFrameReader(r io.Reader) *copyFrameReader {
	return &copyFrameReader{r: bufio.NewReaderSize(r, copyReadBuffer)}
}

// copyReadBuffer is how much of the socket a COPY reads at once.
const copyReadBuffer = 64 << 10

// errCopySocketEnded fails a COPY whose socket ended before a done frame.
var errCopySocketEnded = errors.New("lakelink: the COPY's socket closed before the COPY's end")

func (f *copyFrameReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && f.end == nil {
		if f.left == 0 {
			if n > 0 && f.r.Buffered() < 5 {
				break // what was read goes now: the next frame's head has not come
			}
			f.left, f.end = f.next()
			continue
		}
		if n > 0 && f.r.Buffered() == 0 {
			break
		}
		k, err := f.r.Read(p[n:min(len(p), n+int(f.left))])
		n += k
		f.left -= uint32(k)
		if err != nil {
			f.end = errCopySocketEnded
		}
	}
	if n > 0 {
		return n, nil
	}
	return 0, f.end
}

// next reads the next frame's head: a data frame's length, or the end
// (io.EOF, the fail frame's reason, or an error).
func (f *copyFrameReader) next() (uint32, error) {
	var head [5]byte
	if _, err := io.ReadFull(f.r, head[:]); err != nil {
		return 0, errCopySocketEnded
	}
	n := binary.LittleEndian.Uint32(head[1:])
	switch head[0] {
	case copyFrameData:
		return n, nil
	case copyFrameDone:
		return 0, io.EOF
	case copyFrameFail:
		reason := make([]byte, n)
		if _, err := io.ReadFull(f.r, reason); err != nil {
			return 0, errCopySocketEnded
		}
		return 0, errors.New(string(reason))
	default:
		return 0, fmt.Errorf("lakelink: a COPY frame of kind %d (want d, c or f)", head[0])
	}
}
