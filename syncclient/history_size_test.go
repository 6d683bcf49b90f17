package syncclient_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
	"github.com/courierapp/courier/syncproto"
	"github.com/courierapp/courier/vault"
)

// A history entry keeps up to model.HistoryBodyLimit bytes of the response
// body and DESIGN.md promises they sync. The worst case is a binary body
// (base64 in JSON, then sealed, then base64 again on the wire) with many
// headers; it must fit the protocol's limits, or it would stay pending.
func TestAFullHistoryEntrySyncsWithinTheProtocolLimits(t *testing.T) {
	body := make([]byte, model.HistoryBodyLimit)
	if _, err := rand.Read(body); err != nil {
		t.Fatal(err)
	}
	var headers []model.KV
	for i := range 100 {
		headers = append(headers, model.KV{Key: fmt.Sprintf("X-Header-%d", i), Value: fmt.Sprintf("%0100d", i)})
	}
	e := model.HistoryEntry{ID: model.NewID(), SentAt: time.Now(),
		Request: model.HistoryRequest{Request: model.Request{Method: "GET", URL: "https://example.org/", Headers: headers}},
		Response: &model.Response{Status: 200, Headers: headers, Body: body, Size: int64(len(body)) * 4, Truncated: true,
			ContentType: "application/octet-stream"}}
	op, err := model.UpsertOp(model.KindHistory, e.ID, &e)
	if err != nil {
		t.Fatal(err)
	}
	key := vault.NewAccountKey()
	sealedOp := sealed(t, key, op)
	if err := syncproto.ValidateOp(sealedOp); err != nil {
		t.Fatalf("a full history entry does not fit the protocol: %v", err)
	}
	b, err := json.Marshal(sealedOp)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > syncproto.MaxOpSize {
		t.Fatalf("sealed history op is %d bytes, more than MaxOpSize %d", len(b), syncproto.MaxOpSize)
	}
}
