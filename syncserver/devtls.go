package syncserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Dev CA file names inside the dev data dir.
const (
	DevCAFile      = "ca.pem"
	DevCAKeyFile   = "ca-key.pem"
	DevCertFile    = "server.pem"
	DevCertKeyFile = "server-key.pem"
)

// DevHosts are the names the dev server certificate is valid for.
var devDNS = []string{"localhost"}
var devIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// DevCertificate returns the dev server's certificate, creating in dir
// once a self-signed CA (ca.pem, key 0600, valid 10 years) and a server
// certificate for localhost, 127.0.0.1 and ::1 signed by it (valid 1 year).
// Later calls reuse both; the server certificate alone is reissued when it
// is missing, unreadable or within 30 days of expiry. Clients trust ca.pem.
func DevCertificate(dir string, now time.Time) (tls.Certificate, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("dev CA: create %s: %w", dir, err)
	}
	ca, caKey, err := loadOrCreateCA(dir, now)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPath, keyPath := filepath.Join(dir, DevCertFile), filepath.Join(dir, DevCertKeyFile)
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && devCertUsable(c.Leaf, ca, now) {
		return c, nil
	}
	if err := issueDevCert(ca, caKey, certPath, keyPath, now); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

func devCertUsable(leaf *x509.Certificate, ca *x509.Certificate, now time.Time) bool {
	if leaf == nil || now.Add(30*24*time.Hour).After(leaf.NotAfter) || leaf.CheckSignatureFrom(ca) != nil {
		return false
	}
	return slices.Equal(leaf.DNSNames, devDNS) && len(leaf.IPAddresses) == len(devIPs)
}

func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, DevCAFile), filepath.Join(dir, DevCAKeyFile)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("dev CA %s: key is not ECDSA; delete %s to make a new CA", keyPath, dir)
		}
		return pair.Leaf, key, nil
	}
	if _, statErr := os.Stat(certPath); !errors.Is(statErr, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("dev CA %s unusable (delete it to make a new one): %w", certPath, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Courier dev CA", Organization: []string{"Courier (development)"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("dev CA: create certificate: %w", err)
	}
	if err := writePair(certPath, keyPath, der, key); err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, key, err
}

func issueDevCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, certPath, keyPath string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     devDNS,
		IPAddresses:  devIPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("dev CA: issue server certificate: %w", err)
	}
	return writePair(certPath, keyPath, der, key)
}

// writePair writes the certificate (0644) and the key (0600).
func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return fmt.Errorf("dev CA: write %s: %w", keyPath, err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("dev CA: write %s: %w", certPath, err)
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
