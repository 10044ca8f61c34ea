package ops

import (
	"context"

	"github.com/lakelink/lakelink/core/lakebase"
)

// acquireAsUser is Acquire for an App user's token.
func acquireAsUser(ctx context.Context, pool *lakebase.Pool, userToken string) (*lakebase.Conn, error) {
	return pool.AsUser(userToken).Acquire(ctx)
}
