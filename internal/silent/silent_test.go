package silent_test

import (
	"net"
	"testing"
	"time"

	"github.com/courierapp/courier/internal/silent"
)

func TestAConnectionIsTakenAndNeverAnswered(t *testing.T) {
	ln := silent.Listen(t, "127.0.0.1:0")
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() || n != 0 {
		t.Fatalf("read %d bytes, %v; want a time-out and nothing", n, err)
	}
}
