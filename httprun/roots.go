package httprun

import (
	"crypto/x509"
	"fmt"
	"os"

	"github.com/courierapp/courier/model"
)

// RootPool returns the system's root certificates plus those of the PEM
// files caFiles ("" entries skipped): what a client of a self-hosted server
// with its own CA trusts. Errors wrap model.ErrInvalid.
func RootPool(caFiles ...string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, caFile := range caFiles {
		if caFile == "" {
			continue
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file %s: %w: %w", caFile, model.ErrInvalid, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate: %w", caFile, model.ErrInvalid)
		}
	}
	return pool, nil
}
