package syncclient

import (
	"testing"

	"github.com/courierapp/courier/syncproto"
)

// The close code is for programs (and the log): a person reads the
// server's reason, or what the code means.
func TestAClosedConnectionIsToldWithoutItsCode(t *testing.T) {
	for _, tt := range []struct {
		ce   closedError
		want string
	}{
		{closedError{code: syncproto.CloseGoingAway, msg: "the server cannot do this now; try again later"}, "the server closed the sync connection: the server cannot do this now; try again later"},
		{closedError{code: syncproto.CloseGoingAway}, "the server closed the sync connection: it is shutting down or restarting; try again shortly"},
		{closedError{code: syncproto.CloseTooLarge, msg: "the account's quota is full"}, "the server closed the sync connection: the account's quota is full"},
		{closedError{code: syncproto.CloseInternal}, "the server closed the sync connection"},
	} {
		if got := tt.ce.Error(); got != tt.want {
			t.Errorf("closedError{%d, %q} = %q, want %q", tt.ce.code, tt.ce.msg, got, tt.want)
		}
	}
}
