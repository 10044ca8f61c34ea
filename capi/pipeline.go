package main

/*
#include "lakelink.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"

	"github.com/lakelink/lakelink/internal/ops"
)

//export lakelink_query_pipeline
func lakelink_query_pipeline(conn C.uint64_t, statements *C.uint8_t, statementsLen C.int64_t, maxRows C.int32_t,
	format *C.char, answersOut **C.uint8_t, lenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		c, err := connection(conn)
		if err != nil {
			return err
		}
		return runPipeline(c, statements, statementsLen, maxRows, format, answersOut, lenOut)
	})
}

//export lakelink_pool_pipeline
func lakelink_pool_pipeline(poolH C.uint64_t, userToken *C.char, statements *C.uint8_t, statementsLen C.int64_t,
	maxRows C.int32_t, format *C.char, answersOut **C.uint8_t, lenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		p, err := pool(poolH)
		if err != nil {
			return err
		}
		token, err := userTokenArg(userToken)
		if err != nil {
			return err
		}
		return runPipeline(ops.SessionsOf(p, token), statements, statementsLen, maxRows, format, answersOut, lenOut)
	})
}

// runPipeline runs a pipeline's statements, as its export's arguments give
// them, on r and writes its answers to the outputs.
func runPipeline(r ops.Pipeliner, statements *C.uint8_t, statementsLen C.int64_t, maxRows C.int32_t, format *C.char,
	answersOut **C.uint8_t, lenOut *C.int64_t) error {
	if err := errors.Join(notNull(answersOut, "answers_out"), notNull(lenOut, "len_out")); err != nil {
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
	answers, err := ops.QueryPipeline(context.Background(), r, stmts, b)
	if err != nil {
		return err
	}
	setBytes(answersOut, lenOut, answers)
	return nil
}

//export lakelink_pipeline_channel_open
func lakelink_pipeline_channel_open(fdOut *C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(fdOut, "fd_out"); err != nil {
			return err
		}
		fd, err := ops.OpenPipelineChannel(pipelineRunner)
		if err != nil {
			return err
		}
		*fdOut = C.int32_t(fd)
		return nil
	})
}

// pipelineRunner runs a channel request's statements: on the connection
// whose handle h is, or on the pool's sessions of the App user whose
// access token userToken is (the pool's own when "").
func pipelineRunner(h uint64, userToken string) (ops.Pipeliner, error) {
	kind, ok := kindOf(h)
	switch {
	case ok && kind == kindPool:
		p, err := pool(C.uint64_t(h))
		if err != nil {
			return nil, err
		}
		return ops.SessionsOf(p, userToken), nil
	case ok && kind != kindConnection:
		return nil, &ops.HandleError{Message: fmt.Sprintf("handle %d is %s, not a connection or a pool", h, kind)}
	case ok && userToken != "":
		return nil, &ops.ArgumentError{Message: "a pipeline's user token is for a pool's sessions, not a connection's"}
	}
	return connection(C.uint64_t(h))
}
