package ops

// Pipeline channels (lakelink.h, lakelink_pipeline_channel_open; TYPES.md,
// "Pipeline channels"): pipelines asked for and answered over a stream
// socket, for an event loop whose own thread must not wait for the
// server (Node's main thread). The loop writes requests and reads answers
// as it does any socket's, and the pipelines run on goroutines: no thread
// of the caller's waits for a round trip to the server.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"
)

// requestHead is the size of a request's fixed part: id, handle, max_rows, format's length.
const requestHead = 8 + 8 + 4 + 4

// idleWorker is how long a goroutine that answered a request waits for the
// next before it ends: a goroutine kept has its stack grown already, and
// taking a request costs no new one.
const idleWorker = time.Second

// OpenPipelineChannel opens a channel: it returns the caller's end of a
// connected stream socket, a descriptor the caller owns, and answers the
// requests written to it (ServePipelines) until the caller closes it.
func OpenPipelineChannel(runnerOf RunnerOf) (fd int, err error) {
	ours, theirs, err := socketFor("a pipeline channel")
	if err != nil {
		return -1, err
	}
	go ServePipelines(ours, runnerOf)
	return theirs, nil
}

// socketFor makes a connected pair of stream sockets for what: ours, and
// the caller's descriptor.
func socketFor(what string) (ours net.Conn, theirs int, err error) {
	ours, theirs, err = socketPair()
	if err != nil {
		return nil, -1, &Error{Failure{Code: Internal, Message: "lakelink: cannot make " + what + "'s socket: " + err.Error()}, err}
	}
	return ours, theirs, nil
}

// ServePipelines answers the pipeline requests read from conn, each on a
// goroutine of its own, until conn reaches its end or fails; it then
// closes conn, and the pipelines still running complete unanswered.
// runnerOf gives what runs a request's pipeline.
func ServePipelines(conn net.Conn, runnerOf RunnerOf) {
	s := &pipelineServer{conn: conn, runnerOf: runnerOf, requests: make(chan []byte)}
	defer func() {
		close(s.requests) // idle workers end
		conn.Close()
	}()
	r := bufio.NewReaderSize(conn, 64*1024)
	for {
		var head [4 + 8]byte // a request's length, and its id when it has one
		if _, err := io.ReadFull(r, head[:4]); err != nil {
			return
		}
		n := binary.LittleEndian.Uint32(head[:])
		if n > maxRequest {
			if _, err := io.ReadFull(r, head[4:]); err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, r, int64(n)-8); err != nil {
				return
			}
			status, body := failure(&ArgumentError{
				Message: fmt.Sprintf("pipeline request of %d bytes: more than the %d a channel takes", n, maxRequest)}, Internal)
			s.send(binary.LittleEndian.Uint64(head[4:]), status, body)
			continue
		}
		req := make([]byte, n)
		if _, err := io.ReadFull(r, req); err != nil {
			return
		}
		select {
		case s.requests <- req: // a worker was idle
		default:
			go s.work(req)
		}
	}
}

// The most bytes a request and a pipeline's answers may have (a frame's
// length is a u32): larger ones are refused.
const (
	maxRequest = 1 << 30
	maxAnswer  = 1<<32 - 1 - 8 - 4
)

// pipelineServer is one channel's state.
type pipelineServer struct {
	conn     net.Conn
	runnerOf RunnerOf
	requests chan []byte // to idle workers; closed when the channel ends
}

// work answers req, then the requests handed to it, until none came for
// idleWorker or the channel ended.
func (s *pipelineServer) work(req []byte) {
	idle := time.NewTimer(idleWorker)
	defer idle.Stop()
	for {
		s.send(s.answer(req))
		idle.Reset(idleWorker)
		var ok bool
		select {
		case req, ok = <-s.requests:
			if !ok {
				return
			}
		case <-idle.C:
			return
		}
	}
}

// answer runs the pipeline req asks for: its id, and its status and answers
// (TYPES.md, "Pipelines"), or its failure's. A panic (a bug) is its
// failure too, as in the exports.
func (s *pipelineServer) answer(req []byte) (id uint64, status Code, body []byte) {
	if len(req) >= 8 {
		id = binary.LittleEndian.Uint64(req)
	}
	defer recovered(&status, &body)
	answers, err := s.run(req)
	if err == nil && len(answers) > maxAnswer {
		err = &ArgumentError{Message: fmt.Sprintf("pipeline answers of %d bytes: more than the %d a channel carries", len(answers), maxAnswer)}
	}
	if err != nil {
		status, body = failure(err, Internal)
		return id, status, body
	}
	return id, OK, answers
}

// recovered, deferred, makes a panic (a bug) the answer's failure, as the
// exports' own are.
func recovered(status *Code, body *[]byte) {
	if r := recover(); r != nil {
		*status, *body = failure(Panicked(r), Internal)
	}
}

// failure is err's status and JSON, as an answer gives them; fallback
// classifies an error of no recognised kind (Of).
func failure(err error, fallback Code) (Code, []byte) {
	f := Of(err, fallback)
	body, jerr := json.Marshal(f)
	if jerr != nil { // a Failure's strings and numbers always marshal
		panic(jerr)
	}
	return f.Code, body
}

// RunnerOf gives what runs a pipeline request's statements: the session
// whose handle it names, or the pool's sessions of the App user whose
// access token userToken is (the pool's own when "").
type RunnerOf func(handle uint64, userToken string) (Pipeliner, error)

func (s *pipelineServer) run(req []byte) ([]byte, error) {
	if len(req) < requestHead {
		return nil, &ArgumentError{Message: fmt.Sprintf("pipeline request of %d bytes: shorter than its %d-byte head", len(req), requestHead)}
	}
	format, rest, err := prefixed(req[requestHead-4:], "format")
	if err != nil {
		return nil, err
	}
	token, statements, err := prefixed(rest, "user token")
	if err != nil {
		return nil, err
	}
	c, err := s.runnerOf(binary.LittleEndian.Uint64(req[8:]), string(token))
	if err != nil {
		return nil, err
	}
	b := Batch{MaxRows: int(int32(binary.LittleEndian.Uint32(req[16:]))), Format: string(format)}
	return QueryPipeline(context.Background(), c, statements, b)
}

// prefixed splits a request's field named what, a u32 length and its
// bytes, from the bytes after it.
func prefixed(b []byte, what string) (field, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, &ArgumentError{Message: fmt.Sprintf("pipeline request: it ends before its %s's length", what)}
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return nil, nil, &ArgumentError{Message: fmt.Sprintf("pipeline request: its %s's length, %d, runs past its end", what, n)}
	}
	return b[4 : 4+n], b[4+n:], nil
}

// send writes an answer (u32 length, u64 id, i32 status, body) as one
// write: a socket's write writes all its bytes before another begins. A
// failed write (the caller closed its end) drops it; the reader ends then.
func (s *pipelineServer) send(id uint64, status Code, body []byte) {
	head := make([]byte, 0, 4+8+4)
	head = binary.LittleEndian.AppendUint32(head, uint32(8+4+len(body)))
	head = binary.LittleEndian.AppendUint64(head, id)
	head = binary.LittleEndian.AppendUint32(head, uint32(int32(status)))
	bufs := net.Buffers{head, body}
	bufs.WriteTo(s.conn)
}
