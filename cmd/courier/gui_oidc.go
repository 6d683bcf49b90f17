package main

import (
	"github.com/courierapp/courier/syncclient"
	"github.com/courierapp/courier/ui"
)

// listenOIDC is the window's ui.AccountOptions.OIDCListen: a loopback
// listener on 127.0.0.1 for the provider's redirect.
func listenOIDC() (ui.OIDCListener, error) {
	lb, err := syncclient.ListenLoopback()
	if err != nil {
		return nil, err
	}
	return lb, nil
}
