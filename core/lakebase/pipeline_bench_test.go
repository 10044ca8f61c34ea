package lakebase

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkPoolPipeline: pipelines of single-row statements on a pool of
// the emulator's PostgreSQL, as the Node binding's pool.query sends them,
// for the library's time and allocations per pipeline.
func BenchmarkPoolPipeline(b *testing.B) {
	p := directPool(b)
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("statements=%d", n), func(b *testing.B) {
			stmts := make([]Queued, n)
			for i := range stmts {
				stmts[i] = Queued{"SELECT $1::int", []any{int64(i)}}
			}
			b.ReportAllocs()
			for b.Loop() {
				answers, err := p.Pipeline(context.Background(), stmts, FormatColumnar, 10000)
				if err != nil {
					b.Fatal(err)
				}
				for _, a := range answers {
					if a.Err != nil {
						b.Fatal(a.Err)
					}
				}
			}
		})
	}
}
