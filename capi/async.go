package main

// The asynchronous calls (lakelink.h, "Asynchronous calls"): each
// *_start export reads and checks its arguments with its blocking twin's op
// maker (exports.go), starts the op on a queue and returns a call handle at
// once; a lakelink_call_* export collects the answer into the blocking
// export's outputs, with the same writer.

/*
#include <stdlib.h>
#include "lakelink.h"
*/
import "C"

import (
	"errors"
	"time"
	"unsafe"

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

// start starts the op o, made with error err, on queue under a new call
// handle, stored in *callOut.
func start(queue C.uint64_t, callOut *C.uint64_t, o op, err error) error {
	_, err = startCall(queue, callOut, o, err)
	return err
}

// startCall is start, also returning the call.
func startCall(queue C.uint64_t, callOut *C.uint64_t, o op, err error) (*ops.Call, error) {
	if err != nil {
		return nil, err
	}
	if err := notNull(callOut, "call_out"); err != nil {
		return nil, err
	}
	q, err := queueOf(queue)
	if err != nil {
		return nil, err
	}
	c := ops.NewCall()
	h := newHandle(kindCall, c)
	q.Start(h, c, o)
	*callOut = C.uint64_t(h)
	return c, nil
}

//export lakelink_connect_start
func lakelink_connect_start(queue C.uint64_t, connStr *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := connectOp(connStr)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_pool_open_start
func lakelink_pool_open_start(queue C.uint64_t, connStr *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := poolOpenOp(connStr)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_pool_acquire_start
func lakelink_pool_acquire_start(queue C.uint64_t, poolH C.uint64_t, userToken *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := poolAcquireOp(poolH, userToken)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_query_start
func lakelink_query_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t,
	maxRows C.int32_t, format *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := queryOp(conn, sql, params, paramsLen, maxRows, format)
		return start(queue, callOut, o, err)
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
		o, err := queryOp(conn, sql, params, paramsLen, maxRows, format)
		c, err := startCall(queue, callOut, o, err)
		if err != nil || !c.WaitFor(time.Duration(timeoutUs)*time.Microsecond) {
			return err
		}
		*doneOut = 1
		a, err := collect(*callOut)
		if err != nil {
			return err
		}
		return setQuery(a, columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut)
	})
}

//export lakelink_execute_many_start
func lakelink_execute_many_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, rows *C.uint8_t, rowsLen C.int64_t,
	callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := executeManyOp(conn, sql, rows, rowsLen)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_copy_from_start
func lakelink_copy_from_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := copyFromOp(conn, sql)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_copy_to_start
func lakelink_copy_to_start(queue C.uint64_t, conn C.uint64_t, sql *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := copyToOp(conn, sql)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_copy_write_start
func lakelink_copy_write_start(queue C.uint64_t, copyH C.uint64_t, data *C.uint8_t, dataLen C.int64_t,
	callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := copyWriteOp(copyH, data, dataLen)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_copy_write_rows_start
func lakelink_copy_write_rows_start(queue C.uint64_t, copyH C.uint64_t, format *C.char, rows *C.uint8_t,
	rowsLen C.int64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := copyWriteRowsOp(copyH, format, rows, rowsLen)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_copy_read_start
func lakelink_copy_read_start(queue C.uint64_t, copyH C.uint64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := copyReadOp(copyH)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_copy_end_start
func lakelink_copy_end_start(queue C.uint64_t, copyH C.uint64_t, abortReason *C.char, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if _, err := queueOf(queue); err != nil { // before the COPY's handle goes
			return err
		}
		o, err := copyEndOp(copyH, abortReason)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_result_next_batch_start
func lakelink_result_next_batch_start(queue C.uint64_t, res C.uint64_t, maxRows C.int32_t, format *C.char,
	callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := nextBatchOp(res, maxRows, format)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_result_close_start
func lakelink_result_close_start(queue C.uint64_t, res C.uint64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if _, err := queueOf(queue); err != nil { // before the result's handle goes
			return err
		}
		o, err := resultCloseOp(res)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_session_start
func lakelink_session_start(queue C.uint64_t, conn C.uint64_t, step C.int32_t, callOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if step == C.LAKELINK_STEP_CLOSE || step == C.LAKELINK_STEP_DISCARD {
			if _, err := queueOf(queue); err != nil { // before the connection's handle goes
				return err
			}
		}
		o, err := sessionOp(conn, step)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_token_start
func lakelink_token_start(queue C.uint64_t, connStr *C.char, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := tokenOp(connStr)
		return start(queue, callOut, o, err)
	})
}

//export lakelink_app_request_start
func lakelink_app_request_start(queue C.uint64_t, connStr, appURL, method, url, headersJSON *C.char, body *C.uint8_t,
	bodyLen C.int64_t, callOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		o, err := appRequestOp(connStr, appURL, method, url, headersJSON, body, bodyLen)
		return start(queue, callOut, o, err)
	})
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
		h, err := collect(callH)
		if err != nil {
			return err
		}
		return setHandle(handleOut, h)
	})
}

//export lakelink_call_query
func lakelink_call_query(callH C.uint64_t, columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t,
	tagOut **C.char, rowsOut *C.int64_t, resultOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := queryOutputs(columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut); err != nil {
			return err
		}
		a, err := collect(callH)
		if err != nil {
			return err
		}
		return setQuery(a, columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut)
	})
}

//export lakelink_call_batch
func lakelink_call_batch(callH C.uint64_t, batchOut **C.uint8_t, lenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(batchOut, "batch_out"), notNull(lenOut, "len_out")); err != nil {
			return err
		}
		data, err := collect(callH)
		if err != nil {
			return err
		}
		return setBatch(batchOut, lenOut, data)
	})
}

//export lakelink_call_count
func lakelink_call_count(callH C.uint64_t, countOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		n, err := collect(callH)
		if err != nil {
			return err
		}
		return setCount(countOut, n)
	})
}

//export lakelink_call_token
func lakelink_call_token(callH C.uint64_t, tokenOut **C.char, expiresOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(tokenOut, "token_out"); err != nil {
			return err
		}
		t, err := collect(callH)
		if err != nil {
			return err
		}
		return setToken(tokenOut, expiresOut, t)
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
		a, err := collect(callH)
		if err != nil {
			return err
		}
		return setAppResponse(a, statusOut, headersOut, bodyOut, bodyLenOut)
	})
}

func queueOf(h C.uint64_t) (*ops.Queue, error) {
	v, err := lookup(uint64(h), kindQueue, false)
	if err != nil {
		return nil, err
	}
	return v.(*ops.Queue), nil
}
