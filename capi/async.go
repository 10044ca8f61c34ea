package main

// The asynchronous calls (lakelink.h, "Asynchronous calls"): each
// *_start export checks its arguments, starts the operation on a queue
// and returns a call handle at once; a lakelink_call_* export collects the
// answer, in the outputs of the blocking export it stands for.

/*
#include <stdlib.h>
#include "lakelink.h"
*/
import "C"

import (
	"context"
	"errors"
	"time"
	"unsafe"

	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/internal/ops"
)

//export lakelink_queue_open
func lakelink_queue_open(fdOut *C.int32_t, queueOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(fdOut, "fd_out"), notNull(queueOut, "queue_out")); err != nil {
			return err
		}
		q, err := ops.NewQueue()
		if err != nil {
			return err
		}
		*fdOut = C.int32_t(q.FD())
		*queueOut = C.uint64_t(newHandle(kindQueue, q))
		return nil
	})
}

//export lakelink_queue_take
func lakelink_queue_take(queue C.uint64_t, callsOut *C.uint64_t, max C.int32_t, nOut *C.int32_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(callsOut, "calls_out"), notNull(nOut, "n_out")); err != nil {
			return err
		}
		if max <= 0 {
			return &ops.ArgumentError{Message: "max must be at least 1"}
		}
		q, err := queueOf(queue)
		if err != nil {
			return err
		}
		ids := q.Take(int(max))
		copy(unsafe.Slice((*uint64)(unsafe.Pointer(callsOut)), len(ids)), ids)
		*nOut = C.int32_t(len(ids))
		return nil
	})
}

//export lakelink_queue_close
func lakelink_queue_close(queue C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		v, err := lookup(uint64(queue), kindQueue, true)
		if err != nil {
			return err
		}
		return v.(*ops.Queue).Close()
	})
}

// start starts op on queue under a new call handle, stored in *callOut.
func start(queue C.uint64_t, callOut *C.uint64_t, op func() (any, error)) error {
	_, err := startCall(queue, callOut, op)
	return err
}

// startCall is start, also returning the call.
func startCall(queue C.uint64_t, callOut *C.uint64_t, op func() (any, error)) (*ops.Call, error) {
	if err := notNull(callOut, "call_out"); err != nil {
		return nil, err
	}
	q, err := queueOf(queue)
	if err != nil {
		return nil, err
	}
	c := ops.NewCall()
	h := newHandle(kindCall, c)
	q.Start(h, c, op)
	*callOut = C.uint64_t(h)
	return c, nil
}

//export lakelink_connect_start
func lakelink_connect_start(queue C.uint64_t, connStr *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) {
			c, err := operations.Connect(context.Background(), conn)
			return handleOf(kindConnection, c, err)
		})
	})
}

//export lakelink_pool_open_start
func lakelink_pool_open_start(queue C.uint64_t, connStr *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) {
			p, err := operations.OpenPool(context.Background(), conn)
			return handleOf(kindPool, p, err)
		})
	})
}

//export lakelink_pool_acquire_start
func lakelink_pool_acquire_start(queue C.uint64_t, poolH C.uint64_t, userToken *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		p, err := pool(poolH)
		if err != nil {
			return err
		}
		token, err := userTokenArg(userToken)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) {
			c, err := ops.Acquire(context.Background(), p, token)
			return handleOf(kindConnection, c, err)
		})
	})
}

// handleOf is a new handle of kind for v, or err.
func handleOf[T any](kind handleKind, v *T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return newHandle(kind, v), nil
}

//export lakelink_query_start
func lakelink_query_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t,
	maxRows C.int32_t, format *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		_, err := startQuery(queue, conn, sql, params, paramsLen, maxRows, format, callOut)
		return err
	})
}

// startQuery starts lakelink_query's operation.
func startQuery(queue C.uint64_t, conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t,
	maxRows C.int32_t, format *C.char, callOut *C.uint64_t) (*ops.Call, error) {
	b, err := batch(maxRows, format)
	if err != nil {
		return nil, err
	}
	c, s, err := statement(conn, sql, params, paramsLen)
	if err != nil {
		return nil, err
	}
	return startCall(queue, callOut, func() (any, error) {
		first, err := ops.Query(context.Background(), c, s, b)
		if err != nil {
			return nil, err
		}
		var h uint64
		if first.Result != nil {
			h = newHandle(kindResult, first.Result)
		}
		return queryAnswer{first, h}, nil
	})
}

//export lakelink_query_start_wait
func lakelink_query_start_wait(queue C.uint64_t, conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t,
	maxRows C.int32_t, format *C.char, timeoutUs C.int32_t, callOut *C.uint64_t, doneOut *C.int32_t,
	columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t, tagOut **C.char, rowsOut *C.int64_t,
	resultOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(doneOut, "done_out"), queryOutputs(columnsOut, batchOut, lenOut, tagOut,
			rowsOut, resultOut)); err != nil {
			return err
		}
		*doneOut = 0
		c, err := startQuery(queue, conn, sql, params, paramsLen, maxRows, format, callOut)
		if err != nil || !c.WaitFor(time.Duration(timeoutUs)*time.Microsecond) {
			return err
		}
		*doneOut = 1
		return collectQuery(*callOut, columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut)
	})
}

//export lakelink_execute_many_start
func lakelink_execute_many_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, rows *C.uint8_t, rowsLen C.int64_t,
	callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		c, s, err := statement(conn, sql, rows, rowsLen)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) {
			return ops.ExecuteMany(context.Background(), c, ops.Many{SQL: s.SQL, Rows: s.Params})
		})
	})
}

//export lakelink_copy_from_start
func lakelink_copy_from_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		c, s, err := statement(conn, sql, nil, 0)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) {
			w, err := ops.StartCopyFrom(context.Background(), c, s.SQL)
			return handleOf(kindCopyFrom, w, err)
		})
	})
}

//export lakelink_copy_to_start
func lakelink_copy_to_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		c, s, err := statement(conn, sql, nil, 0)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) {
			o, err := ops.StartCopyTo(context.Background(), c, s.SQL)
			return handleOf(kindCopyTo, o, err)
		})
	})
}

//export lakelink_copy_write_start
func lakelink_copy_write_start(queue C.uint64_t, copyH C.uint64_t, data *C.uint8_t, dataLen C.int64_t,
	callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		w, err := copyFrom(copyH)
		if err != nil {
			return err
		}
		b, err := goBytes(data, dataLen, "data")
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return nil, ops.CopyWrite(w, b) })
	})
}

//export lakelink_copy_write_rows_start
func lakelink_copy_write_rows_start(queue C.uint64_t, copyH C.uint64_t, format *C.char, rows *C.uint8_t,
	rowsLen C.int64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		w, err := copyFrom(copyH)
		if err != nil {
			return err
		}
		f, err := optString(format, "format")
		if err != nil {
			return err
		}
		b, err := goBytes(rows, rowsLen, "rows")
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return nil, ops.CopyWriteRows(w, f, b) })
	})
}

//export lakelink_copy_read_start
func lakelink_copy_read_start(queue C.uint64_t, copyH C.uint64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := copyTo(copyH)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return ops.CopyRead(o) })
	})
}

//export lakelink_copy_end_start
func lakelink_copy_end_start(queue C.uint64_t, copyH C.uint64_t, abortReason *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if _, err := queueOf(queue); err != nil { // before the COPY's handle goes
			return err
		}
		end, err := copyEnd(copyH, abortReason)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return end() })
	})
}

// queryAnswer is a completed lakelink_query_start's answer.
type queryAnswer struct {
	first  *ops.FirstBatch
	result uint64 // the open result's handle, or 0
}

//export lakelink_result_next_batch_start
func lakelink_result_next_batch_start(queue C.uint64_t, res C.uint64_t, maxRows C.int32_t, format *C.char,
	callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		r, err := result(res)
		if err != nil {
			return err
		}
		b, err := batch(maxRows, format)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return ops.NextBatch(r, b) })
	})
}

//export lakelink_result_close_start
func lakelink_result_close_start(queue C.uint64_t, res C.uint64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if _, err := queueOf(queue); err != nil { // before the result's handle goes
			return err
		}
		v, err := lookup(uint64(res), kindResult, true)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return nil, ops.CloseResult(v.(*lakebase.Result)) })
	})
}

//export lakelink_session_start
func lakelink_session_start(queue C.uint64_t, conn C.uint64_t, step C.int32_t, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		ctx := context.Background()
		var run func(*lakebase.Conn) error
		switch step {
		case C.LAKELINK_STEP_BEGIN:
			run = func(c *lakebase.Conn) error { return c.Begin(ctx) }
		case C.LAKELINK_STEP_COMMIT:
			run = func(c *lakebase.Conn) error { return c.Commit(ctx) }
		case C.LAKELINK_STEP_ROLLBACK:
			run = func(c *lakebase.Conn) error { return c.Rollback(ctx) }
		case C.LAKELINK_STEP_CANCEL:
			run = func(c *lakebase.Conn) error { return c.Cancel(ctx) }
		case C.LAKELINK_STEP_AUTOCOMMIT_ON, C.LAKELINK_STEP_AUTOCOMMIT_OFF:
			on := step == C.LAKELINK_STEP_AUTOCOMMIT_ON
			run = func(c *lakebase.Conn) error { return c.SetAutocommit(on) }
		case C.LAKELINK_STEP_CLOSE, C.LAKELINK_STEP_DISCARD:
			if _, err := queueOf(queue); err != nil { // before the connection's handle goes
				return err
			}
			v, err := lookup(uint64(conn), kindConnection, true) // invalid from now, as lakelink_close makes it
			if err != nil {
				return err
			}
			c := v.(*lakebase.Conn)
			if step == C.LAKELINK_STEP_DISCARD {
				return start(queue, callOut, func() (any, error) { return nil, ops.Discard(c) })
			}
			return start(queue, callOut, func() (any, error) { return nil, ops.OnSession(c, (*lakebase.Conn).Close) })
		default:
			return &ops.ArgumentError{Message: "step: not a LAKELINK_STEP_* value"}
		}
		c, err := connection(conn)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return nil, ops.OnSession(c, run) })
	})
}

//export lakelink_token_start
func lakelink_token_start(queue C.uint64_t, connStr *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) { return operations.GetToken(context.Background(), conn) })
	})
}

//export lakelink_app_request_start
func lakelink_app_request_start(queue C.uint64_t, connStr, appURL, method, url, headersJSON *C.char, body *C.uint8_t,
	bodyLen C.int64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		r, err := appRequestArgs(connStr, appURL, method, url, headersJSON, body, bodyLen)
		if err != nil {
			return err
		}
		return start(queue, callOut, func() (any, error) {
			resp, err := operations.CallApp(context.Background(), r)
			return appAnswer{resp, err}, nil // the response goes out with the error
		})
	})
}

// appAnswer is a completed lakelink_app_request_start's answer.
type appAnswer struct {
	resp *ops.AppResponse
	err  error
}

//export lakelink_call_wait
func lakelink_call_wait(callH C.uint64_t, timeoutUs C.int32_t, doneOut *C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(doneOut, "done_out"); err != nil {
			return err
		}
		v, err := lookup(uint64(callH), kindCall, false)
		if err != nil {
			return err
		}
		*doneOut = 0
		if v.(*ops.Call).WaitFor(time.Duration(timeoutUs) * time.Microsecond) {
			*doneOut = 1
		}
		return nil
	})
}

// collect waits for call to complete, invalidates its handle and returns
// its answer.
func collect(callH C.uint64_t) (any, error) {
	v, err := lookup(uint64(callH), kindCall, true)
	if err != nil {
		return nil, err
	}
	return v.(*ops.Call).Wait()
}

//export lakelink_call_done
func lakelink_call_done(callH C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		_, err := collect(callH)
		return err
	})
}

//export lakelink_call_handle
func lakelink_call_handle(callH C.uint64_t, handleOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(handleOut, "handle_out"); err != nil {
			return err
		}
		v, err := collect(callH)
		if err != nil {
			return err
		}
		h, ok := v.(uint64)
		if !ok {
			return &ops.HandleError{Message: "the call is not one that opens a handle"}
		}
		*handleOut = C.uint64_t(h)
		return nil
	})
}

//export lakelink_call_query
func lakelink_call_query(callH C.uint64_t, columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t,
	tagOut **C.char, rowsOut *C.int64_t, resultOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := queryOutputs(columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut); err != nil {
			return err
		}
		return collectQuery(callH, columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut)
	})
}

// queryOutputs checks lakelink_query's output pointers.
func queryOutputs(columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t, tagOut **C.char,
	rowsOut *C.int64_t, resultOut *C.uint64_t) error {
	return errors.Join(notNull(columnsOut, "columns_json_out"), notNull(batchOut, "batch_out"),
		notNull(lenOut, "len_out"), notNull(tagOut, "command_tag_out"), notNull(rowsOut, "rows_affected_out"),
		notNull(resultOut, "result_out"))
}

// collectQuery collects a query's call into lakelink_query's outputs.
func collectQuery(callH C.uint64_t, columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t, tagOut **C.char,
	rowsOut *C.int64_t, resultOut *C.uint64_t) error {
	v, err := collect(callH)
	if err != nil {
		return err
	}
	a, ok := v.(queryAnswer)
	if !ok {
		return &ops.HandleError{Message: "the call is not a query"}
	}
	if err := setJSON(columnsOut, a.first.Columns); err != nil {
		return err
	}
	setBytes(batchOut, lenOut, a.first.Batch)
	setString(tagOut, a.first.CommandTag)
	*rowsOut = C.int64_t(a.first.RowsAffected)
	*resultOut = C.uint64_t(a.result)
	return nil
}

//export lakelink_call_batch
func lakelink_call_batch(callH C.uint64_t, batchOut **C.uint8_t, lenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(batchOut, "batch_out"), notNull(lenOut, "len_out")); err != nil {
			return err
		}
		v, err := collect(callH)
		if err != nil {
			return err
		}
		data, ok := v.([]byte)
		if !ok && v != nil {
			return &ops.HandleError{Message: "the call is not a batch"}
		}
		setBytes(batchOut, lenOut, data)
		return nil
	})
}

//export lakelink_call_count
func lakelink_call_count(callH C.uint64_t, countOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		v, err := collect(callH)
		if err != nil {
			return err
		}
		n, ok := v.(int64)
		if !ok {
			return &ops.HandleError{Message: "the call is not one that counts rows"}
		}
		if countOut != nil {
			*countOut = C.int64_t(n)
		}
		return nil
	})
}

//export lakelink_call_token
func lakelink_call_token(callH C.uint64_t, tokenOut **C.char, expiresOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(tokenOut, "token_out"); err != nil {
			return err
		}
		v, err := collect(callH)
		if err != nil {
			return err
		}
		t, ok := v.(*ops.Token)
		if !ok {
			return &ops.HandleError{Message: "the call is not a token's"}
		}
		setString(tokenOut, t.AccessToken)
		if expiresOut != nil {
			*expiresOut = C.int64_t(t.ExpiresAt.Unix())
		}
		return nil
	})
}

//export lakelink_call_app_response
func lakelink_call_app_response(callH C.uint64_t, statusOut *C.int32_t, headersOut **C.char, bodyOut **C.uint8_t,
	bodyLenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(statusOut, "status_out"), notNull(headersOut, "headers_out"),
			notNull(bodyOut, "body_out"), notNull(bodyLenOut, "body_len_out")); err != nil {
			return err
		}
		v, err := collect(callH)
		if err != nil {
			return err
		}
		a, ok := v.(appAnswer)
		if !ok {
			return &ops.HandleError{Message: "the call is not an app request"}
		}
		return setAppResponse(a.resp, a.err, statusOut, headersOut, bodyOut, bodyLenOut)
	})
}

func queueOf(h C.uint64_t) (*ops.Queue, error) {
	v, err := lookup(uint64(h), kindQueue, false)
	if err != nil {
		return nil, err
	}
	return v.(*ops.Queue), nil
}
