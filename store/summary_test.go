package store

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/courierapp/courier/model"
)

// slowSummary is the summary as encoding/json alone computes it.
func slowSummary(id model.ID, f model.Fields) model.HistorySummary {
	s := model.HistorySummary{ID: id}
	_ = json.Unmarshal(f["sent_at"], &s.SentAt)
	requestSlow(f["request"], &s)
	responseSlow(f["response"], &s)
	_ = json.Unmarshal(f["error"], &s.Error)
	return s
}

// summarySeeds are field values the fast path handles and those it must
// hand to encoding/json.
var summarySeeds = []struct{ sentAt, request, response, errText string }{
	{`"2027-01-15T10:00:00Z"`, `{"method":"GET","url":"https://a/1","headers":[{"key":"A","value":"b"}]}`, `{"status":200,"timings":{"dns":1,"total":42000000},"body":"{\"a\":[1,2]}"}`, ``},
	{` "2027-01-15T10:00:00.123+02:00" `, ` { "method" : "POST" , "url":"https://a/é", "name":"n" } `, ` {"status":-0,"timings":{}} `, `"dial tcp: refused"`},
	{`"2027-13-15T10:00:00Z"`, `{"Method":"GET","url":"u"}`, `{"Status":200}`, `"a\"b"`},
	{`null`, `null`, `null`, `null`},
	{`"x"`, `{"method":5}`, `{"status":200.5}`, `5`},
	{`"\u0032027-01-15T10:00:00Z"`, `{"m\u0065thod":"GET"}`, `{"status":1e3}`, `"\u00e9"`},
	{`"2027-01-15T10:00:00Z"`, `{"method":"G\u0045T","url":"a<b>&c"}`, `{"timings":null,"status":7}`, `"bad \u2028"`},
	{`"2027-01-15T10:00:00Z"`, `{"method":"GET","method":"PUT"}`, `{"timings":{"TOTAL":5,"total":6}}`, `""`},
	{`"2027-01-15T10:00:00Z"`, `{"ſtatus":"x","url":"\ud800"}`, `{"status":99999999999999999999}`, `"ok"`},
	{`"2027-01-15T10:00:00Z"`, `[1,2]`, `{"timings":{"total":"5"}}`, `"ok"`},
	{`"2027-01-15T10:00:00Z"`, `{"url":"a","extra":{"deep":[[[[{"x":"}"}]]]]}}`, `{"status":404,"timings":{"total":-12}}`, `"ok"`},
}

func TestHistorySummaryMatchesEncodingJSON(t *testing.T) {
	for _, tc := range summarySeeds {
		checkSummary(t, tc.sentAt, tc.request, tc.response, tc.errText)
	}
}

func TestSummaryJSONMatchesMarshal(t *testing.T) {
	sent := time.Date(2027, 1, 15, 10, 0, 0, 123, time.FixedZone("", 3600))
	for _, s := range []model.HistorySummary{
		{ID: "01J0000000000000000000000A", SentAt: sent, Method: "GET", URL: "https://a/1", Status: 200, Duration: 42},
		{ID: "x", Method: "P<O>ST", URL: "https://a/é?q=1&b=\"2\"", Name: "n\u2028", Status: -1, Duration: -5, Error: "tab\there \xff"},
	} {
		got, err := appendSummaryJSON(nil, s)
		want, werr := json.Marshal(s)
		if err != nil || werr != nil || !bytes.Equal(got, want) {
			t.Errorf("appendSummaryJSON(%+v) = %s, %v; json.Marshal = %s, %v", s, got, err, want, werr)
		}
	}
	if _, err := appendSummaryJSON(nil, model.HistorySummary{SentAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a year past 9999 encoded; json.Marshal refuses it")
	}
}

// FuzzHistorySummary checks that the summary of any JSON field values is
// the one encoding/json computes, and encodes as json.Marshal does.
func FuzzHistorySummary(f *testing.F) {
	for _, tc := range summarySeeds {
		f.Add(tc.sentAt, tc.request, tc.response, tc.errText)
	}
	f.Fuzz(checkSummary)
}

func checkSummary(t *testing.T, sentAt, request, response, errText string) {
	f := model.Fields{}
	for name, v := range map[string]string{"sent_at": sentAt, "request": request, "response": response, "error": errText} {
		if !json.Valid([]byte(v)) {
			return // the store accepts only JSON values
		}
		f[name] = json.RawMessage(v)
	}
	got, want := historySummary("id", f), slowSummary("id", f)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("summary of %q\n got %+v\nwant %+v", f, got, want)
	}
	gotJS, err := appendSummaryJSON(nil, got)
	wantJS, werr := json.Marshal(want)
	if (err == nil) != (werr == nil) || !bytes.Equal(gotJS, wantJS) {
		t.Fatalf("summary JSON %s, %v; json.Marshal %s, %v", gotJS, err, wantJS, werr)
	}
}

func TestHistorySummaryTakesTheFastPathForPlainValues(t *testing.T) {
	var s model.HistorySummary
	tc := summarySeeds[0]
	if !sentAtFast(json.RawMessage(tc.sentAt), &s.SentAt) || !requestFast(json.RawMessage(tc.request), &s) || !responseFast(json.RawMessage(tc.response), &s) {
		t.Fatalf("plain values went to encoding/json: %+v", s)
	}
	if s.Method != "GET" || s.URL != "https://a/1" || s.Status != 200 || s.Duration != 42*time.Millisecond || s.SentAt.IsZero() {
		t.Fatalf("fast summary %+v", s)
	}
}
