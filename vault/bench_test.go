package vault

import (
	"bytes"
	"context"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// BenchmarkDeriveMaster times the key derivation a sign-in pays. The
// baselines are the same Argon2id call made directly (the ratio is this
// package's overhead: validation and HKDF) and OWASP's floor
// (MinKDFParams). Besides wall time it reports CPU time per op (all
// threads; steadier on a busy machine). Run each on its own to read peak
// memory:
//
//	go test -run - -bench 'DeriveMaster/courier' -count 5 ./vault
func BenchmarkDeriveMaster(b *testing.B) {
	ctx := context.Background()
	salt := NewSalt()
	run := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			m := startRusage()
			for b.Loop() {
				f()
			}
			m.report(b)
		})
	}
	run("courier-default", func() {
		mk, err := DeriveMaster(ctx, "a long passphrase", salt, DefaultKDFParams)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = mk.AuthKey(), mk.WrapKey()
	})
	run("baseline-argon2id-default", func() {
		p := DefaultKDFParams
		_ = argon2.IDKey([]byte("a long passphrase"), salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	})
	run("baseline-owasp-floor", func() {
		p := MinKDFParams
		_ = argon2.IDKey([]byte("a long passphrase"), salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	})
}

// BenchmarkSeal1KiB compares sealing a 1 KiB field value with a Sealer
// and with the package function against the bare AEAD, allocating its
// result (what Sealer does) and writing into a reused buffer (the floor:
// no framing, no nonce, no allocation).
func BenchmarkSeal1KiB(b *testing.B) {
	key := NewAccountKey()
	pt := bytes.Repeat([]byte("x"), 1024)
	s := NewSealer(key)
	b.Run("courier-sealer", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _, _ = s.Seal(katKind, katID, katField, pt) })
	})
	b.Run("courier-func", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _, _ = Seal(key, katKind, katID, katField, pt) })
	})
	aead, _ := chacha20poly1305.NewX(key[:])
	nonce, ad := make([]byte, 24), []byte(katKind+"\x00"+katID+"\x00"+katField)
	buf := make([]byte, 0, len(pt)+Overhead)
	b.Run("baseline-aead-alloc", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _ = aead.Seal(nil, nonce, pt, ad) })
	})
	b.Run("baseline-aead-reuse", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _ = aead.Seal(buf[:0], nonce, pt, ad) })
	})
}

// BenchmarkOpen1KiB is BenchmarkSeal1KiB for Open.
func BenchmarkOpen1KiB(b *testing.B) {
	key := NewAccountKey()
	pt := bytes.Repeat([]byte("x"), 1024)
	s := NewSealer(key)
	sealed, _ := s.Seal(katKind, katID, katField, pt)
	b.Run("courier-sealer", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _, _ = s.Open(katKind, katID, katField, sealed) })
	})
	b.Run("courier-func", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _, _ = Open(key, katKind, katID, katField, sealed) })
	})
	aead, _ := chacha20poly1305.NewX(key[:])
	ad := []byte(katKind + "\x00" + katID + "\x00" + katField)
	buf := make([]byte, 0, len(pt))
	b.Run("baseline-aead-alloc", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _, _ = aead.Open(nil, sealed[1:headerSize], sealed[headerSize:], ad) })
	})
	b.Run("baseline-aead-reuse", func(b *testing.B) {
		benchBytes(b, len(pt), func() { _, _ = aead.Open(buf[:0], sealed[1:headerSize], sealed[headerSize:], ad) })
	})
}

func benchBytes(b *testing.B, n int, f func()) {
	b.ReportAllocs()
	b.SetBytes(int64(n))
	for b.Loop() {
		f()
	}
}
