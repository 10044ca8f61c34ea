package ops

// COPY FROM over a socket (lakelink.h, lakelink_copy_from_socket; TYPES.md,
// "COPY sockets"): the caller writes the COPY's data to a stream socket
// as it writes any socket, and the library sends it on to the server, so
// that no call crosses into the library per chunk, and an event loop that
// must not wait for the server (Node's) has the socket's buffer as the
// COPY's backpressure.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

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
// caller owns the descriptor). The session is the COPY's from the return
// on (lakebase.Conn.StartCopyFromReader: a later call on it closes the
// socket, which fails the COPY). The outcome, the rows copied or the
// error, is written back to the socket once the COPY has ended.
func OpenCopyFromSocket(ctx context.Context, c *lakebase.Conn, sql string) (fd int, err error) {
	defer classify(&err, Database)
	ours, theirs, err := socketFor("a COPY")
	if err != nil {
		return -1, err
	}
	run, err := c.StartCopyFromReader(ctx, sql, newCopyFrameReader(ours), func() { ours.Close() })
	if err != nil {
		ours.Close()
		closeDescriptor(theirs)
		return -1, err
	}
	go answerCopy(ours, run)
	return theirs, nil
}

// answerCopy writes the COPY's outcome to conn once it has ended, then
// reads what else comes until the caller closes its end, so that the
// caller's writes never fail while it has not read the outcome.
func answerCopy(conn net.Conn, run *lakebase.CopyRun) {
	defer conn.Close()
	status, body := OK, []byte(nil)
	n, err := run.Wait()
	if err != nil {
		status, body = failure(err, Database)
	} else {
		body = binary.LittleEndian.AppendUint64(nil, uint64(n))
	}
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

// maxFailReason is the longest reason a fail frame may carry.
const maxFailReason = 64 << 10

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
		if n > maxFailReason {
			return 0, fmt.Errorf("lakelink: a COPY's fail frame of %d bytes (at most %d)", n, maxFailReason)
		}
		reason := make([]byte, n)
		if _, err := io.ReadFull(f.r, reason); err != nil {
			return 0, errCopySocketEnded
		}
		// The server's CopyFail takes a C string.
		return 0, errors.New(strings.ToValidUTF8(strings.ReplaceAll(string(reason), "\x00", ""), "\uFFFD"))
	default:
		return 0, fmt.Errorf("lakelink: a COPY frame of kind %d (want d, c or f)", head[0])
	}
}
