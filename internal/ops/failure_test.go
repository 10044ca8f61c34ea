package ops

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
)

func TestOf(t *testing.T) {
	_, connErr := connstr.Parse("AuthScheme=Nope")
	app := &apps.Error{Op: "GET http://h/api/x", Status: 403, Kind: apps.KindForbidden, Message: "no", Diagnosis: "Ask for CAN USE."}
	for _, c := range []struct {
		err  error
		want Failure
	}{
		{&ArgumentError{Message: "bad"}, Failure{Code: InvalidArgument, Message: "bad"}},
		{fmt.Errorf("apps: %w", &apps.ArgumentError{Message: "app URL x"}), Failure{Code: InvalidArgument, Message: "apps: app URL x"}},
		{&HandleError{Message: "handle 7 is closed"}, Failure{Code: InvalidHandle, Message: "handle 7 is closed"}},
		{&ArgumentError{Message: "params: bad", Err: &lakebase.DataError{SQLState: "22023", Err: errors.New("x")}}, Failure{Code: InvalidArgument, Message: "params: bad", SQLState: "22023"}},
		{connErr, Failure{Code: ConnectionString, Message: connErr.Error()}},
		{fmt.Errorf("minting: %w", &lakebase.Error{Host: "h:5432", User: "u", SQLState: "28P01", Message: "refused"}),
			Failure{Code: Database, Message: "minting: lakebase h:5432 (user u): refused (SQLSTATE 28P01)", SQLState: "28P01"}},
		{&lakebase.Error{Host: "h:5432", User: "u", SQLState: "23505", Message: "duplicate key: Key (id)=(1) already exists.",
			Detail: "Key (id)=(1) already exists.", Hint: "Pick another id."},
			Failure{Code: Database, Message: "lakebase h:5432 (user u): duplicate key: Key (id)=(1) already exists. (SQLSTATE 23505)",
				SQLState: "23505", Detail: "Key (id)=(1) already exists.", Hint: "Pick another id."}},
		{&lakebase.DataError{SQLState: "22023", Err: errors.New("param 1")}, Failure{Code: Auth, Message: "param 1", SQLState: "22023"}},
		{app, Failure{Code: App, Message: "GET http://h/api/x: 403 Forbidden: no", Diagnosis: "Ask for CAN USE.", HTTPStatus: 403, Kind: "forbidden"}},
		{&auth.OAuthError{Status: 401, Code: "invalid_client"}, Failure{Code: Auth, Message: "token endpoint: invalid_client"}},
		{fmt.Errorf("as user: %w", &lakebase.UserTokenError{Err: fmt.Errorf("token: %w", &auth.BearerTokenError{Message: "two tokens"})}),
			Failure{Code: InvalidArgument, Message: "as user: token: two tokens"}},
		{fmt.Errorf("the Token property: %w", &auth.BearerTokenError{Message: "a list"}),
			Failure{Code: InvalidArgument, Message: "the Token property: a list"}},
		{&lakebase.UserTokenError{Err: errors.New("refused")}, Failure{Code: Auth, Message: "refused"}},
		{errors.Join(errors.New("one"), errors.New("two\xff")), Failure{Code: Auth, Message: "one; two\uFFFD"}},
	} {
		if got := Of(c.err, Auth); got != c.want {
			t.Errorf("Of(%v):\n got %+v\nwant %+v", c.err, got, c.want)
		}
	}
}
