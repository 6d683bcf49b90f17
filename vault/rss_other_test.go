//go:build !unix

package vault

import "testing"

type rusageMeter struct{}

func startRusage() rusageMeter        { return rusageMeter{} }
func (rusageMeter) report(*testing.B) {}
