package main

/*
#include "lakelink.h"
*/
import "C"

import (
	"context"

	"github.com/lakelink/lakelink/internal/ops"
)

// The exports of statements whose answers their caller feeds (lakelink.h,
// lakelink_query_send; lakebase's fed.go).

//export lakelink_session_socket
func lakelink_session_socket(conn C.uint64_t, fdOut *C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(fdOut, "fd_out"); err != nil {
			return err
		}
		c, err := connection(conn)
		if err != nil {
			return err
		}
		fd, err := ops.SessionSocket(c)
		if err != nil {
			return err
		}
		*fdOut = C.int32_t(fd)
		return nil
	})
}

//export lakelink_query_send
func lakelink_query_send(conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t,
	sendingOut *C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(sendingOut, "sending_out"); err != nil {
			return err
		}
		c, s, err := statement(conn, sql, params, paramsLen)
		if err != nil {
			return err
		}
		sending, err := ops.SendQuery(c, s)
		if err != nil {
			return err
		}
		*sendingOut = C.int32_t(sending)
		return nil
	})
}

//export lakelink_query_prepare
func lakelink_query_prepare(conn C.uint64_t, sql *C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		c, s, err := statement(conn, sql, nil, 0)
		if err != nil {
			return err
		}
		return ops.PrepareQuery(context.Background(), c, s.SQL)
	})
}

//export lakelink_query_feed
func lakelink_query_feed(conn C.uint64_t, data *C.uint8_t, dataLen C.int64_t, feedingOut *C.int32_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(feedingOut, "feeding_out"); err != nil {
			return err
		}
		c, err := connection(conn)
		if err != nil {
			return err
		}
		b, err := goBytes(data, dataLen, "data")
		if err != nil {
			return err
		}
		*feedingOut = C.int32_t(c.FeedQuery(b))
		return nil
	})
}

//export lakelink_query_receive
func lakelink_query_receive(conn C.uint64_t, maxRows C.int32_t, format *C.char, columnsOut **C.char,
	batchOut **C.uint8_t, lenOut *C.int64_t, tagOut **C.char, rowsOut *C.int64_t, resultOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := queryOutputs(columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut); err != nil {
			return err
		}
		c, err := connection(conn)
		if err != nil {
			return err
		}
		b, err := batch(maxRows, format)
		if err != nil {
			return err
		}
		first, err := ops.ReceiveQuery(context.Background(), c, b)
		if err != nil {
			return err
		}
		var h uint64
		if first.Result != nil {
			h = newHandle(kindResult, first.Result)
		}
		return setQuery(queryAnswer{first, h}, columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut)
	})
}
