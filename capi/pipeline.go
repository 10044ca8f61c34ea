package main

/*
#include "lakelink.h"
*/
import "C"

import (
	"context"
	"errors"

	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/internal/ops"
)

//export lakelink_query_pipeline
func lakelink_query_pipeline(conn C.uint64_t, statements *C.uint8_t, statementsLen C.int64_t, maxRows C.int32_t,
	format *C.char, answersOut **C.uint8_t, lenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(answersOut, "answers_out"), notNull(lenOut, "len_out")); err != nil {
			return err
		}
		c, err := connection(conn)
		if err != nil {
			return err
		}
		stmts, err := goBytes(statements, statementsLen, "statements")
		if err != nil {
			return err
		}
		b, err := batch(maxRows, format)
		if err != nil {
			return err
		}
		answers, err := ops.QueryPipeline(context.Background(), c, stmts, b)
		if err != nil {
			return err
		}
		setBytes(answersOut, lenOut, answers)
		return nil
	})
}

//export lakelink_pipeline_channel_open
func lakelink_pipeline_channel_open(fdOut *C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(fdOut, "fd_out"); err != nil {
			return err
		}
		fd, err := ops.OpenPipelineChannel(func(h uint64) (*lakebase.Conn, error) { return connection(C.uint64_t(h)) })
		if err != nil {
			return err
		}
		*fdOut = C.int32_t(fd)
		return nil
	})
}
