package ops

import (
	"context"
	"errors"

	"github.com/lakelink/lakelink/core/lakebase"
)

// acquireAsUser is Acquire for an App user's token. Branch pools only:
// the integrator replaces this body with
//
//	return pool.AsUser(userToken).Acquire(ctx)
//
// once core/lakebase/userpool.go (branch users) is merged.
func acquireAsUser(ctx context.Context, pool *lakebase.Pool, userToken string) (*lakebase.Conn, error) {
	return nil, errors.New("lakebase: acting as an App user is not built yet (Pool.AsUser, core/lakebase/userpool.go)")
}
