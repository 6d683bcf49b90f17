package app

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/courierapp/courier/model"
)

// This file stands in for package httprun until it lands.

type pendingSender struct{}

func newHTTPSender() Sender { return pendingSender{} }

func (pendingSender) Send(ctx context.Context, cfg SenderConfig, req model.Request, scope Scope) (*Exchange, error) {
	return nil, fmt.Errorf("sending is not available in this build: %w", model.ErrUnavailable)
}

var varPattern = regexp.MustCompile(`\{\{\s*([^{}]+?)\s*\}\}`)

func unresolvedVars(req model.Request, scope Scope) []string {
	var out []string
	for _, m := range varPattern.FindAllStringSubmatch(req.URL, -1) {
		name := m[1]
		_, g := scope.Globals[name]
		_, c := scope.Collection[name]
		_, e := scope.Environment[name]
		if !g && !c && !e && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func checkBody(req model.Request) string { return "" }
